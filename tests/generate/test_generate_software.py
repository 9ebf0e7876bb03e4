"""Software graphs from a spack database and from modulefiles along MODULEPATH."""

from __future__ import annotations

import json

import pytest
from fractale import ResourceGraph
from fractale.generate.software import (
    SoftwareError,
    module_software,
    software_graph,
    software_in,
    spack_database,
    spack_software,
)


@pytest.fixture
def spack(data):
    return spack_software((data / "spack" / ".spack-db" / "index.json").read_text())


@pytest.fixture
def modulepath(data):
    root = data / "modules"
    return ":".join(
        str(p) for p in (root / "tcl", root / "lmod" / "Core", root / "lmod/Compiler/gcc/12.2.0")
    )


def test_installed_spack_packages_with_version_compiler_and_target(spack):
    listed = {(s.name, s.version, s.compiler, s.target) for s in spack}
    assert ("gromacs", "2023.1", "gcc@12.2.0", "zen3") in listed
    assert ("gromacs", "2022.5", "gcc@11.4.0", "zen3") in listed
    assert ("openmpi", "4.1.5", "gcc@12.2.0", "zen3") in listed


def test_spack_packages_not_installed_are_left_out(spack):
    assert "lammps" not in {s.name for s in spack}


def test_spack_packages_are_loaded_by_name_version_and_hash(spack):
    loads = {s.load for s in spack if s.name == "gromacs"}
    assert loads == {"spack load gromacs@2023.1/q3kcqxs", "spack load gromacs@2022.5/d4o5dmy"}


def test_a_spack_1_compiler_is_the_dependency_providing_c(data):
    database = {
        "database": {
            "version": "8",
            "installs": {
                "aaa": {
                    "spec": {
                        "name": "zlib",
                        "version": "1.3.1",
                        "arch": {"platform": "linux", "target": "x86_64_v3"},
                        "dependencies": [
                            {"name": "gcc", "hash": "ccc", "parameters": {"virtuals": ["c", "cxx"]}}
                        ],
                        "hash": "aaa",
                    },
                    "installed": True,
                },
                "ccc": {
                    "spec": {"name": "gcc", "version": "13.2.0", "hash": "ccc"},
                    "installed": True,
                },
            },
        }
    }
    zlib = [s for s in spack_software(json.dumps(database)) if s.name == "zlib"][0]
    assert (zlib.compiler, zlib.target) == ("gcc@13.2.0", "x86_64_v3")


def test_the_database_is_found_from_the_install_root(data):
    assert spack_database(data / "spack").name == "index.json"
    with pytest.raises(SoftwareError, match="no spack database"):
        spack_database(data / "modules")


def test_text_that_is_not_a_spack_database_is_refused():
    with pytest.raises(SoftwareError, match="not a spack database"):
        spack_software('{"installs": {}}')


def test_tcl_and_lua_modulefiles_are_found_and_other_files_skipped(modulepath):
    found = {(s.name, s.version) for s in module_software(modulepath)}
    assert found == {
        ("gromacs", "2021.7"),
        ("cmake", "3.26.4"),
        ("gcc", "12.2.0"),
        ("openmpi", "4.1.5"),
        ("gromacs", "2023.3"),
    }


def test_modules_of_a_compiler_hierarchy_know_their_compiler_and_load_it_first(modulepath):
    gromacs = [s for s in module_software(modulepath) if s.version == "2023.3"][0]
    assert gromacs.compiler == "gcc@12.2.0"
    assert gromacs.load == "module load gcc/12.2.0 gromacs/2023.3"


def test_a_module_in_an_earlier_modulepath_entry_hides_a_later_one(data, tmp_path):
    later = tmp_path / "later" / "cmake"
    later.mkdir(parents=True)
    (later / "3.26.4").write_text("#%Module1.0\n")
    earlier = str(data / "modules" / "tcl")
    found = [s for s in module_software(f"{earlier}:{tmp_path / 'later'}") if s.name == "cmake"]
    assert len(found) == 1


def test_an_empty_modulepath_is_refused():
    with pytest.raises(SoftwareError, match="MODULEPATH is empty"):
        module_software("")


def test_a_software_graph_loads_in_the_core_and_reads_back(spack):
    document = software_graph(spack, "spack")
    assert ResourceGraph.from_jgf(document).summary()["package"] == len(spack)
    assert {s.load for s in software_in(document, "spack")} == {s.load for s in spack}
