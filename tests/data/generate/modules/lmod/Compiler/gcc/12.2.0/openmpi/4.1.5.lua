-- -*- lua -*-
help([[Open MPI 4.1.5 built with GCC 12.2.0]])
whatis("Name: openmpi")
whatis("Version: 4.1.5")
family("mpi")

local root = "/apps/gcc-12.2.0/openmpi/4.1.5"
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib"))
setenv("MPI_HOME", root)
