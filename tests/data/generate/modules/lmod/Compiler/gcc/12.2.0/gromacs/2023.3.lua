-- -*- lua -*-
help([[GROMACS 2023.3 (mixed precision, CUDA) built with GCC 12.2.0]])
whatis("Name: gromacs")
whatis("Version: 2023.3")
whatis("Category: chemistry")
depends_on("openmpi/4.1.5")
conflict("gromacs")

local root = "/apps/gcc-12.2.0/gromacs/2023.3"
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib64"))
setenv("GMXDATA", pathJoin(root, "share/gromacs"))
