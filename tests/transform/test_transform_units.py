"""Durations, memory sizes, begin times and array ranges read and written in each spelling."""

import pytest
from fractale.transform import units


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 1800),
        ("05:30", 330),
        ("02:00:00", 7200),
        ("1-00", 86400),
        ("1-12:30", 131400),
        ("2-01:02:03", 176523),
    ],
)
def test_slurm_time_formats_read_as_seconds(text, seconds):
    assert units.read_slurm_time(text) == seconds


def test_slurm_time_writes_days_when_over_a_day():
    assert units.write_slurm_time(176523) == "2-01:02:03"
    assert units.write_slurm_time(7200) == "02:00:00"


def test_unlimited_slurm_time_is_refused():
    with pytest.raises(ValueError, match="unlimited"):
        units.read_slurm_time("UNLIMITED")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200),
                                               ("1.5d", 129600), ("45", 45)])
def test_flux_standard_duration(text, seconds):
    assert units.read_fsd(text) == seconds


def test_flux_duration_written_in_largest_whole_unit():
    assert [units.write_fsd(s) for s in (90, 1800, 7200, 86400)] == ["90s", "30m", "2h", "1d"]


def test_clock_with_days_and_plain_seconds():
    assert units.read_clock("01:00:00:00") == 86400
    assert units.read_clock("3600") == 3600


@pytest.mark.parametrize(
    ("text", "unit", "mib"),
    [("4G", "m", 4096), ("500M", "m", 500), ("2048", "m", 2048), ("16gb", "b", 16384),
     ("1T", "m", 1048576), ("1048576kb", "m", 1024), ("8GiB", "m", 8192), ("4096", "k", 4)],
)
def test_memory_sizes_read_as_mebibytes(text, unit, mib):
    assert units.read_memory(text, unit) == mib


def test_memory_written_in_each_managers_style():
    assert units.write_memory(4096, "slurm") == "4G"
    assert units.write_memory(500, "pbs") == "500mb"
    assert units.write_memory(8192, "lsf") == "8GB"


def test_malformed_memory_is_refused():
    with pytest.raises(ValueError, match="memory size"):
        units.read_memory("lots")


def test_begin_times_absolute_and_relative():
    assert units.read_begin("2026-03-01T08:30") == "2026-03-01T08:30:00"
    assert units.read_begin("now+2hours") == "+7200"
    assert units.read_pbs_datetime("202603010830") == "2026-03-01T08:30:00"
    assert units.write_pbs_datetime("2026-03-01T08:30:00") == "202603010830"
    assert units.read_lsf_datetime("2026:3:1:8:30") == "2026-03-01T08:30:00"


@pytest.mark.parametrize(("text", "normal"), [("1-100:2%10", "1-100:2%10"), ("0-9", "0-9"),
                                              ("1,3,5-7", "1,3,5-7"), ("01-10:1", "1-10")])
def test_array_ranges_normalized(text, normal):
    assert units.read_array(text) == normal


def test_array_indexes_enumerated():
    assert units.array_indexes("1-9:4,20") == [1, 5, 9, 20]
    assert units.array_parts("1-100:2%10") == ([(1, 100, 2)], 10)


@pytest.mark.parametrize("text", ["10-1", "1-5:0", "a-b", "1-5%0"])
def test_bad_array_ranges_refused(text):
    with pytest.raises(ValueError):
        units.read_array(text)


def test_hostlists_split_outside_brackets():
    assert units.split_hostlist("a,node[1-3,7],b") == ["a", "node[1-3,7]", "b"]
