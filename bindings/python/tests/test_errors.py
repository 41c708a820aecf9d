"""Negative status codes become exceptions of the right class, carrying the
library's message (check_error), and bad Python arguments are refused
before they reach C."""

import pytest

import jobq
from jobq import errors

SHARE = "job-orchestrator.queue.high.scheduling-share-percentage"


@pytest.fixture
def s():
    with jobq.Scheduler(clock=lambda: 1000) as sched:
        yield sched


def test_unknown_job_is_not_found_with_its_name(s):
    with pytest.raises(jobq.NotFound, match='no job named "nightly"') as info:
        s.submit("nightly")
    assert info.value.code == errors.ENOTFOUND
    assert info.value.name == "JOBQ_ENOTFOUND"
    assert isinstance(info.value, LookupError)


def test_unknown_run_is_not_found(s):
    with pytest.raises(jobq.NotFound, match="no run with id 42"):
        s.run(42)


def test_out_of_range_property_names_key_and_range(s):
    with pytest.raises(jobq.RangeError) as info:
        s.set_property(SHARE, 101)
    assert str(info.value) == f"{SHARE}: 101 is out of range (0..100)"
    assert s.get_property(SHARE) == 90  # nothing half-applied


def test_wrong_type_in_document_is_invalid_argument(s):
    with pytest.raises(jobq.InvalidArgument,
                       match=r"settings\.batchSize: expected an integer"):
        s.configure({"services": {"jobOrchestrator": {"settings": {
            "batchSize": "many"}}}})


def test_malformed_json_is_parse_error(s):
    with pytest.raises(jobq.ParseError, match="invalid JSON"):
        s.configure("{")


def test_bad_config_at_open_raises_with_message():
    with pytest.raises(jobq.InvalidArgument, match="batchSize: unknown key"):
        jobq.Scheduler(config={"batchSize": 3})


def test_spark_style_memory_is_refused_with_a_hint(s):
    with pytest.raises(jobq.ParseError, match="did you mean 512Mi"):
        s.define_job("j", "ns", request={"memory": "512m"})


def test_unknown_resource_and_enum_values_are_refused(s):
    with pytest.raises(jobq.InvalidArgument, match="unknown dimension 'gpu'"):
        s.define_job("j", "ns", request={"gpu": "1"})
    with pytest.raises(jobq.InvalidArgument, match="'urgent' is not one of"):
        s.define_job("j", "ns", priority="urgent")
    with pytest.raises(jobq.InvalidArgument, match="NUL"):
        s.define_job("j\0k", "ns")


def test_empty_job_name_is_refused_by_the_library(s):
    with pytest.raises(jobq.InvalidArgument, match="must not be empty"):
        s.define_job("", "ns")


def test_cancelling_an_ended_run_is_a_state_error(s):
    s.define_job("j", "ns")
    run = s.submit("j")
    s.cancel(run)
    with pytest.raises(jobq.StateError, match="already ended"):
        s.cancel(run)


def test_disabling_with_queued_runs_says_migrate_first():
    with jobq.Scheduler(probe=lambda ns: ({"cpu": "0"}, {})) as s:
        s.define_job("j", "ns", request={"cpu": "1"})
        s.submit("j")
        with pytest.raises(jobq.StateError, match="migrate"):
            s.set_property("features.jobOrchestrator.enabled", False)


def test_time_going_backwards_is_refused(s):
    s.tick(now=5000)
    with pytest.raises(jobq.InvalidArgument, match="time went backwards"):
        s.tick(now=4000)


def test_unknown_property_get(s):
    with pytest.raises(jobq.NotFound, match='unknown property "nope"'):
        s.get_property("nope")


def test_every_code_maps_to_its_class():
    for code in range(-1, -13, -1):
        exc = errors.error_for(code)
        assert exc.code == code
        assert isinstance(exc, jobq.JobqError)
        assert str(exc)  # the library's description of the code
    assert type(errors.error_for(errors.EBUSY)) is jobq.BusyError
    assert type(errors.error_for(-999)) is jobq.JobqError


def test_check_error_passes_non_negative_through():
    assert jobq.check_error(0) == 0
    assert jobq.check_error(7) == 7
    with pytest.raises(jobq.StateError, match="custom"):
        jobq.check_error(errors.ESTATE, lambda: "custom")
