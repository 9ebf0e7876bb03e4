-- -*- lua -*-
help([[GNU Compiler Collection 12.2.0]])
whatis("Name: gcc")
whatis("Version: 12.2.0")
whatis("Category: compiler")
family("compiler")

local root = "/apps/gcc/12.2.0"
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib64"))
prepend_path("MANPATH", pathJoin(root, "share/man"))
prepend_path("MODULEPATH", "/apps/modulefiles/Compiler/gcc/12.2.0")
