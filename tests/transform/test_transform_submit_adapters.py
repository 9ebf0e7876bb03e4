"""Each manager's submit/status/cancel adapter, reading recorded scheduler output.

The outputs below are written from each scheduler's documentation (sbatch, squeue -O, sacct
--parsable2; flux batch, flux jobs --format; qsub, qstat -f, Torque's qstat -x XML; bsub,
bjobs -o with a delimiter; oarsub, oarstat -J; Cobalt qsub, qstat -l and its .cobaltlog;
msub, checkjob; kubectl create -o name, kubectl get job -o json) and, for Slurm, from the
local Slurm the other tests use.
"""

from __future__ import annotations

import json

import pytest
import yaml
from fractale.transform.registry import all_managers, get
from fractale.transform.submitter import STATES, Status
from fractale.transform.transport import Result


def adapter(name):
    return get(name).submitter()


def answer(argv, stdout, returncode=0, stderr=""):
    return Result(list(argv), returncode, stdout, stderr)


def status_from(name, job_id, *outputs):
    """The status the adapter reads from its status commands' recorded results, in order."""
    submitter = adapter(name)
    commands = submitter.status_commands(job_id)
    for argv, (stdout, returncode, stderr) in zip(commands, outputs):
        found = submitter.read_status(job_id, answer(argv, stdout, returncode, stderr))
        if found is not None:
            return found
    return None


# ---- every manager


@pytest.mark.parametrize("name", [manager.name for manager in all_managers()])
def test_every_manager_fractale_writes_has_an_adapter_whose_states_map_into_the_one_set(name):
    assert get(name).submitter is not None, f"{name} has no submit adapter"
    submitter = adapter(name)
    assert submitter.native_states, f"{name} maps no native state"
    assert set(submitter.native_states.values()) <= set(STATES)
    assert "42" in submitter.cancel_command("42")
    # A status command names the job (Grid Engine's qstat lists every job, and qacct names it).
    assert any("42" in " ".join(argv) for argv in submitter.status_commands("42"))
    held = submitter.submit_command("/w/job.sh", True)
    free = submitter.submit_command("/w/job.sh", False)
    assert held.argv != free.argv or name == "kubernetes"


def test_a_state_the_one_set_lacks_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        Status("finished", "DONE")


# ---- Slurm


def test_slurm_submits_with_sbatch_parsable_and_holds_with_hold():
    assert adapter("slurm").submit_command("/w/a.sh", True).argv == [
        "sbatch", "--parsable", "--hold", "/w/a.sh"]
    assert adapter("slurm").job_id("sbatch: warning: can't honor --ntasks\n4242\n") == "4242"
    assert adapter("slurm").job_id("4242;cluster2\n") == "4242"
    assert adapter("slurm").job_id("sbatch: error: Batch job submission failed\n") is None


SQUEUE = {
    # squeue --noheader --states=all --jobs=ID --Format=JobID:|,State:|,Reason:|,exit_code:|
    "held": ("106|PENDING|JobHeldUser|0|\n", Status("pending", "PENDING", None, "JobHeldUser")),
    "running": ("107|RUNNING|None|0|\n", Status("running", "RUNNING", None, None)),
    "completed": ("93|COMPLETED|None|0|\n", Status("completed", "COMPLETED", 0, None)),
    # exit 3 is the wait status 768; a script killed by signal 9 reports 9.
    "exit 3": ("101|FAILED|NonZeroExitCode|768|\n",
               Status("failed", "FAILED", 3, "NonZeroExitCode")),
    "killed": ("102|FAILED|JobLaunchFailure|9|\n",
               Status("failed", "FAILED", 137, "JobLaunchFailure")),
    "timeout": ("110|TIMEOUT|TimeLimit|15|\n", Status("timeout", "TIMEOUT", 143, "TimeLimit")),
    "cancelled": ("2|CANCELLED|JobHeldUser|0|\n",
                  Status("cancelled", "CANCELLED", 0, "JobHeldUser")),
}


@pytest.mark.parametrize("case", sorted(SQUEUE))
def test_slurm_reads_squeue(case):
    stdout, expected = SQUEUE[case]
    job_id = stdout.split("|")[0]
    assert status_from("slurm", job_id, (stdout, 0, "")) == expected


def test_slurm_asks_sacct_once_squeue_has_forgotten_the_job():
    forgotten = ("", 1, "slurm_load_jobs error: Invalid job id specified")
    sacct = "4242|CANCELLED by 1000|0:15\n"
    assert status_from("slurm", "4242", forgotten, (sacct, 0, "")) == Status(
        "cancelled", "CANCELLED", 143, None)
    assert status_from("slurm", "4242", forgotten, ("4242|COMPLETED|0:0\n", 0, "")) == Status(
        "completed", "COMPLETED", 0, None)
    assert status_from("slurm", "4242", forgotten, ("4242|OUT_OF_MEMORY|0:125\n", 0, "")) == (
        Status("failed", "OUT_OF_MEMORY", 0 + 128 + 125, None))
    # Without accounting neither knows it.
    assert status_from("slurm", "4242", forgotten,
                       ("", 1, "Slurm accounting storage is disabled")) is None


# ---- Flux


def test_flux_submits_with_flux_batch_and_holds_with_urgency_hold():
    assert adapter("flux").submit_command("/w/a.sh", True).argv == [
        "flux", "batch", "--urgency=hold", "/w/a.sh"]
    assert adapter("flux").job_id("ƒ2QAMfZnj\n") == "ƒ2QAMfZnj"


FLUX_JOBS = {
    # flux jobs --no-header --format={id}|{state}|{result}|{returncode}|{exception.type}
    "held": ("ƒ2Q|SCHED|||\n", Status("pending", "SCHED")),
    "depend": ("ƒ2Q|DEPEND|||\n", Status("pending", "DEPEND")),
    "running": ("ƒ2Q|RUN|||\n", Status("running", "RUN")),
    "cleanup": ("ƒ2Q|CLEANUP|||\n", Status("running", "CLEANUP")),
    "completed": ("ƒ2Q|INACTIVE|COMPLETED|0|\n", Status("completed", "COMPLETED", 0)),
    "failed": ("ƒ2Q|INACTIVE|FAILED|3|\n", Status("failed", "FAILED", 3)),
    "cancelled": ("ƒ2Q|INACTIVE|CANCELED|143|cancel\n",
                  Status("cancelled", "CANCELED", 143, "cancel")),
    "timeout": ("ƒ2Q|INACTIVE|TIMEOUT|142|timeout\n",
                Status("timeout", "TIMEOUT", 142, "timeout")),
}


@pytest.mark.parametrize("case", sorted(FLUX_JOBS))
def test_flux_reads_flux_jobs(case):
    stdout, expected = FLUX_JOBS[case]
    assert status_from("flux", "ƒ2Q", (stdout, 0, "")) == expected


def test_flux_does_not_know_an_unknown_job():
    assert status_from("flux", "ƒ9", ("", 1, "flux-jobs: ERROR: unknown job id ƒ9")) is None


def test_a_jobspec_goes_to_flux_as_json_through_flux_job_submit():
    jobspec = adapter("jobspec")
    text = "version: 1\nresources: []\ntasks: []\nattributes: {system: {duration: 60}}\n"
    assert json.loads(jobspec.prepare(text, False))["attributes"]["system"]["duration"] == 60
    assert jobspec.submit_command("/w/job.json", True).argv == [
        "flux", "job", "submit", "--urgency=hold", "/w/job.json"]
    assert jobspec.logs_command("ƒ2Q") == ["flux", "job", "attach", "--read-only", "ƒ2Q"]
    assert status_from("jobspec", "ƒ2Q", ("ƒ2Q|INACTIVE|COMPLETED|0|\n", 0, "")).state == (
        "completed")


# ---- PBS


def test_pbs_submits_with_qsub_and_holds_with_h():
    assert adapter("pbs").submit_command("/w/a.sh", True).argv == ["qsub", "-h", "/w/a.sh"]
    assert adapter("pbs").job_id("1234.pbs-server\n") == "1234.pbs-server"
    assert adapter("pbs").placeholders("1234.pbs-server")["seq"] == "1234"


QSTAT_RUNNING = """\
Job Id: 1234.pbs-server
    Job_Name = hello
    Job_Owner = alice@login1
    job_state = R
    queue = workq
    exec_host = node01/0
    Resource_List.walltime = 00:10:00
    comment = Job run at Mon Jun 10 at 12:00 on (node01:ncpus=1)
"""

QSTAT_FINISHED = """\
Job Id: 1234.pbs-server
    Job_Name = hello
    job_state = F
    queue = workq
    Exit_status = {status}
    substate = {substate}
    comment = {comment}
    Variable_List = PBS_O_HOME=/home/alice,PBS_O_PATH=/usr/bin:/bin,
\tPBS_O_WORKDIR=/home/alice
"""


def test_pbs_reads_qstat_f_while_the_job_lives():
    assert status_from("pbs", "1234.pbs-server", (QSTAT_RUNNING, 0, "")) == Status(
        "running", "R", None, "Job run at Mon Jun 10 at 12:00 on (node01:ncpus=1)")
    held = QSTAT_RUNNING.replace("job_state = R", "job_state = H")
    assert status_from("pbs", "1234.pbs-server", (held, 0, "")).state == "pending"


@pytest.mark.parametrize(
    ("status", "substate", "comment", "state", "code"),
    [
        (0, 92, "Job run at Mon and finished", "completed", 0),
        (2, 93, "Job run at Mon and failed", "failed", 2),
        (271, 91, "Job run at Mon and terminated", "cancelled", 143),
        (-29, 93, "job killed: walltime 70 exceeded limit 60", "timeout", -29),
    ],
)
def test_pbs_pro_reads_a_finished_job_from_qstat_x(status, substate, comment, state, code):
    finished = QSTAT_FINISHED.format(status=status, substate=substate, comment=comment)
    gone = ("", 35, "qstat: 1234.pbs-server Job has finished, use -x or -H to obtain "
                    "historical job information")
    found = status_from("pbs", "1234.pbs-server", gone, (finished, 0, ""))
    assert (found.state, found.native, found.exit_code) == (state, "F", code)


def test_torque_answers_qstat_x_in_xml_and_is_read_too():
    xml = ("<Data><Job><Job_Id>77.torque</Job_Id><Job_Name>hello</Job_Name>"
           "<job_state>C</job_state><exit_status>0</exit_status></Job></Data>")
    gone = ("", 153, "qstat: Unknown Job Id Error 77.torque")
    assert status_from("pbs", "77.torque", gone, (xml, 0, "")) == Status("completed", "C", 0)


# ---- LSF


def test_lsf_submits_the_script_on_bsubs_standard_input():
    command = adapter("lsf").submit_command("/w/a.lsf", True)
    assert (command.argv, command.stdin) == (["bsub", "-H"], "/w/a.lsf")
    assert adapter("lsf").job_id("Job <1234> is submitted to queue <normal>.\n") == "1234"
    assert adapter("lsf").job_id("Request aborted by esub. Job not submitted.\n") is None


BJOBS = {
    # bjobs -noheader -o "jobid stat exit_code exit_reason delimiter='|'" ID
    "pending": ("1234|PEND|-|-\n", Status("pending", "PEND")),
    "held": ("1234|PSUSP|-|-\n", Status("pending", "PSUSP")),
    "running": ("1234|RUN|-|-\n", Status("running", "RUN")),
    "done": ("1234|DONE|-|-\n", Status("completed", "DONE", 0)),
    "exit": ("1234|EXIT|2|-\n", Status("failed", "EXIT", 2)),
    "killed": ("1234|EXIT|130|TERM_OWNER: job killed by owner\n",
               Status("cancelled", "EXIT", 130, "TERM_OWNER: job killed by owner")),
    "runlimit": ("1234|EXIT|140|TERM_RUNLIMIT: job killed after reaching LSF run time limit\n",
                 Status("timeout", "EXIT", 140,
                        "TERM_RUNLIMIT: job killed after reaching LSF run time limit")),
}


@pytest.mark.parametrize("case", sorted(BJOBS))
def test_lsf_reads_bjobs_o(case):
    stdout, expected = BJOBS[case]
    assert status_from("lsf", "1234", (stdout, 0, "")) == expected


def test_lsf_does_not_know_a_job_bjobs_has_not_found():
    assert status_from("lsf", "99", ("", 255, "Job <99> is not found")) is None


# ---- OAR


def test_oar_submits_an_executable_script_with_oarsub_s():
    oar = adapter("oar")
    assert oar.executable
    assert oar.submit_command("/w/a.sh", True).argv == ["oarsub", "--hold", "-S", "/w/a.sh"]
    printed = "[ADMISSION RULE] Set default walltime to 7200.\nOAR_JOB_ID=4321\n"
    assert oar.job_id(printed) == "4321"
    assert oar.job_id("[ADMISSION RULE] Error: no such queue\n") is None


def oarstat(state, exit_code=None, events=()):
    job = {"id": 4321, "name": "hello", "state": state, "exit_code": exit_code,
           "events": [{"type": kind, "description": "..."} for kind in events]}
    return json.dumps({"4321": job}, indent=4)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        (oarstat("Waiting"), Status("pending", "Waiting")),
        (oarstat("Hold"), Status("pending", "Hold")),
        (oarstat("Running"), Status("running", "Running")),
        (oarstat("Terminated", 0), Status("completed", "Terminated", 0)),
        (oarstat("Terminated", 512), Status("failed", "Terminated", 2)),
        (oarstat("Error", 9, ["FRAG_JOB_REQUEST"]),
         Status("cancelled", "Error", 137, "FRAG_JOB_REQUEST")),
        (oarstat("Error", None, ["WALLTIME"]), Status("timeout", "Error", None, "WALLTIME")),
    ],
)
def test_oar_reads_oarstat_json(printed, expected):
    assert status_from("oar", "4321", (printed, 0, "")) == expected


def test_oar_names_its_default_output_files_by_job_name_and_id():
    from fractale.transform.model import BatchJob

    assert adapter("oar").outputs(BatchJob(name="hello"), "/w/a.sh") == [
        "OAR.hello.{{id}}.stdout", "OAR.hello.{{id}}.stderr"]
    assert adapter("oar").outputs(BatchJob(), "/w/a.sh") == [
        "OAR.{{id}}.stdout", "OAR.{{id}}.stderr"]


# ---- Cobalt


def test_cobalt_submits_an_executable_script_with_qsub():
    cobalt = adapter("cobalt")
    assert cobalt.executable
    assert cobalt.submit_command("/w/a.sh", False).argv == ["qsub", "/w/a.sh"]
    assert cobalt.job_id("Job routed to queue \"debug\".\n812345\n") == "812345"
    assert cobalt.job_id("qsub: error: no such queue\n") is None


QSTAT_L = """\
JobID: 812345
    JobName      : hello
    User         : alice
    WallTime     : 00:10:00
    Nodes        : 2
    State        : {state}
    Location     : None
"""


def test_cobalt_reads_qstat_l_then_the_cobaltlog():
    assert adapter("cobalt").status_commands("812345", "/home/alice/run") == [
        ["qstat", "-l", "812345"], ["cat", "/home/alice/run/812345.cobaltlog"]]
    assert status_from("cobalt", "812345", (QSTAT_L.format(state="user_hold"), 0, "")) == (
        Status("pending", "user_hold"))
    assert status_from("cobalt", "812345", (QSTAT_L.format(state="running"), 0, "")) == (
        Status("running", "running"))
    log = ("Jobid: 812345\nInfo: task completed normally with an exit code of 3; "
           "initiating job cleanup and removal\n")
    assert status_from("cobalt", "812345", ("", 0, ""), (log, 0, "")) == Status(
        "failed", "done", 3)
    assert status_from("cobalt", "812345", ("", 0, ""), (log.replace("of 3", "of 0"), 0, "")) == (
        Status("completed", "done", 0))


# ---- Moab


def test_moab_submits_with_msub_and_cancels_with_mjobctl():
    moab = adapter("moab")
    assert moab.submit_command("/w/a.sh", True).argv == ["msub", "-h", "/w/a.sh"]
    assert moab.job_id("\nMoab.123\n") == "Moab.123"
    assert moab.placeholders("Moab.123")["seq"] == "123"
    assert moab.cancel_command("Moab.123") == ["mjobctl", "-c", "Moab.123"]


CHECKJOB = """\
job 123

AName: hello
State: {state}
{completion}Creds:  user:alice  group:alice  class:batch
WallTime:   00:00:05 of 00:10:00
"""


@pytest.mark.parametrize(
    ("state", "completion", "expected"),
    [
        ("Idle", "", Status("pending", "Idle")),
        ("UserHold", "", Status("pending", "UserHold")),
        ("Running", "", Status("running", "Running")),
        ("Completed", "Completion Code: 0  Time: Mon Jun 10 12:00:00\n",
         Status("completed", "Completed", 0)),
        ("Completed", "Completion Code: 1  Time: Mon Jun 10 12:00:00\n",
         Status("failed", "Completed", 1)),
        ("Removed", "Completion Code: 271  Time: Mon Jun 10 12:00:00\n",
         Status("cancelled", "Removed", 271)),
    ],
)
def test_moab_reads_checkjob(state, completion, expected):
    printed = CHECKJOB.format(state=state, completion=completion)
    assert status_from("moab", "123", (printed, 0, "")) == expected


# ---- Kubernetes


def test_kubernetes_creates_the_job_and_a_held_one_is_created_suspended():
    kubernetes = adapter("kubernetes")
    manifest = ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hello\nspec:\n"
                "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
                "      - name: hello\n        image: busybox\n")
    assert yaml.safe_load(kubernetes.prepare(manifest, True))["spec"]["suspend"] is True
    assert kubernetes.prepare(manifest, False) == manifest
    assert kubernetes.submit_command("/w/a.yaml", True).argv == [
        "kubectl", "create", "-f", "/w/a.yaml", "-o", "name"]
    assert kubernetes.job_id("job.batch/hello\n") == "hello"
    assert kubernetes.logs_command("hello") == ["kubectl", "logs", "job/hello",
                                                "--all-containers"]


def kubectl_job(status):
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job",
                       "metadata": {"name": "hello", "namespace": "default"},
                       "status": status})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, Status("pending", "Pending")),
        ({"active": 1, "ready": 1}, Status("running", "Active")),
        ({"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended",
                          "message": "Job suspended"}]},
         Status("pending", "Suspended", None, "Job suspended")),
        ({"succeeded": 1, "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"}]},
         Status("completed", "Complete", 0, None)),
        ({"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                                       "reason": "BackoffLimitExceeded",
                                       "message": "Job has reached the specified backoff limit"}]},
         Status("failed", "Failed", None, "Job has reached the specified backoff limit")),
        ({"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                          "message": "Job was active longer than specified deadline"}]},
         Status("timeout", "DeadlineExceeded", None,
                "Job was active longer than specified deadline")),
    ],
)
def test_kubernetes_reads_kubectl_get_job_json(status, expected):
    assert status_from("kubernetes", "hello", (kubectl_job(status), 0, "")) == expected


def test_kubernetes_does_not_know_a_deleted_job():
    gone = ("", 1, 'Error from server (NotFound): jobs.batch "hello" not found')
    assert status_from("kubernetes", "hello", gone) is None


# ---- Grid Engine

# qstat -u '*' -xml, as Son of Grid Engine 8.1.9 prints it (trimmed to the jobs' fields).
QSTAT_XML = """<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
    <job_list state="running">
      <JB_job_number>1158</JB_job_number>
      <JB_name>md</JB_name>
      <state>r</state>
      <queue_name>all.q@vm</queue_name>
      <slots>2</slots>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>1157</JB_job_number>
      <JB_name>getest</JB_name>
      <state>hqw</state>
      <slots>1</slots>
    </job_list>
    <job_list state="pending">
      <JB_job_number>1160</JB_job_number>
      <JB_name>broken</JB_name>
      <state>Eqw</state>
      <slots>1</slots>
    </job_list>
  </job_info>
</job_info>
"""


def qacct(number, failed, exit_status):
    return (f"==============================================================\n"
            f"qname        all.q               \nhostname     vm                  \n"
            f"jobname      getest              \njobnumber    {number}                \n"
            f"failed       {failed}    \nexit_status  {exit_status}                   \n")


def test_gridengine_submits_tersely_and_holds_with_h():
    assert adapter("gridengine").submit_command("/w/a.sh", True).argv == [
        "qsub", "-terse", "-h", "/w/a.sh"]
    assert adapter("gridengine").job_id("1157\n") == "1157"
    assert adapter("gridengine").job_id("1161.1-3:1\n") == "1161"
    assert adapter("gridengine").job_id("Unable to run job: Job was rejected\n") is None


@pytest.mark.parametrize("job_id, expected", [
    ("1158", Status("running", "r")),
    ("1157", Status("pending", "hqw")),
    ("1160", Status("failed", "Eqw")),
])
def test_gridengine_reads_qstat_xml_while_the_job_is_queued_or_running(job_id, expected):
    assert status_from("gridengine", job_id, (QSTAT_XML, 0, "")) == expected


@pytest.mark.parametrize("failed, exit_status, state, code", [
    ("0", "0", "completed", 0),
    ("0", "3", "failed", 3),
    ("100 : assumedly after job", "137", "cancelled", 137),
    ("1  : before job", "0", "failed", 0),
])
def test_gridengine_reads_qacct_once_the_job_has_ended(failed, exit_status, state, code):
    ended = status_from("gridengine", "1157", (QSTAT_XML.replace("1157", "9"), 0, ""),
                        (qacct(1157, failed, exit_status), 0, ""))
    assert (ended.state, ended.exit_code) == (state, code)


def test_gridengine_does_not_know_a_job_before_accounting_records_it():
    assert status_from("gridengine", "77", (QSTAT_XML, 0, ""),
                       ("", 1, "error: job id 77 not found")) is None
