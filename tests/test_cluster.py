"""The README's cluster recipe, as written: a real `dask scheduler` and two `dask worker` processes on loopback,
with only the installed package on their path, serving the app's back end (`Lab` with the engine RNNLAB_SCHEDULER
names): a run trains there and no local cluster starts; Stop ends a run mid-way; a worker killed mid-run fails
only its run, and the next one trains; an app server that dies is replaced by a new one against the same cluster,
which marks the cut-off run "interrupted" and trains on.

The figures of interest (time to the first loss point, Stop latency, what a killed worker costs) are printed with
`-s`; they are measured here, never asserted as timings.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rnnlab.config import RunConfig
from rnnlab.engine import create_engine
from rnnlab.engine.cluster import DaskEngine
from rnnlab.engine.local import LOCAL_DASK_CONFIG
from rnnlab.lab import Lab
from rnnlab.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TINY = RunConfig(task="sine", seq_len=8, samples=64, eval_samples=32, units=4, epochs=2, batch_size=16)
ENDLESS = TINY.replace(epochs=1000)  # trains until stopped
WAIT = 120  # seconds: the bound on every wait
FIGURES: dict[str, float] = {}


def dask_environment(role: str) -> dict[str, str]:
    """The README's Dask settings for a scheduler or a worker, as environment variables: the local cluster's own
    (`LOCAL_DASK_CONFIG`), each for the process that reads it."""
    names = {}
    for key, value in LOCAL_DASK_CONFIG.items():
        if (role == "scheduler") == key.startswith(("distributed.scheduler.", "distributed.admin.")):
            names["DASK_" + key.upper().replace(".", "__").replace("-", "_")] = str(value)
    return names


def wait_until(predicate, timeout=WAIT, what="it"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def package_path(tmp_path_factory):
    """Where the installed `rnnlab` is: nothing extra if it is installed (CI: requirements.txt's `-e .`), else a
    `pip install --no-deps --target` of this folder. Either way never the project folder on PYTHONPATH."""
    outside = tmp_path_factory.mktemp("outside")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    found = subprocess.run([sys.executable, "-c", "import rnnlab"], cwd=outside, env=environment,
                           capture_output=True, timeout=60)
    if found.returncode == 0:
        return None
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "rnnlab", source / "rnnlab", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(source)], check=True, capture_output=True, timeout=300)
    return target


@pytest.fixture(scope="module")
def cluster(package_path, tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes (one worker thread each), started outside the project."""
    folder = tmp_path_factory.mktemp("cluster")
    base = {key: value for key, value in os.environ.items() if key != "PYTHONPATH" and not key.startswith("DASK_")}
    if package_path is not None:
        base["PYTHONPATH"] = str(package_path)
    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = [subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--dashboard-address", "127.0.0.1:0"],
        cwd=folder, env={**base, **dask_environment("scheduler")}, stdout=subprocess.DEVNULL,
        stderr=open(folder / "scheduler.log", "wb"), start_new_session=True)]
    for number in (1, 2):
        processes.append(subprocess.Popen(
            [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--memory-limit", "2GiB", "--host",
             "127.0.0.1", "--no-dashboard", "--name", f"worker-{number}"],
            cwd=folder, env={**base, **dask_environment("worker")}, stdout=subprocess.DEVNULL,
            stderr=open(folder / f"worker-{number}.log", "wb"), start_new_session=True))
    import distributed

    started = time.monotonic()
    client = distributed.Client(address, timeout=WAIT, set_as_default=False)
    client.wait_for_workers(2, timeout=WAIT)
    FIGURES["cluster up (s)"] = time.monotonic() - started
    try:
        yield address, client, package_path
    finally:
        client.close()
        for process in processes:  # each started here, in its own session: end it and its worker children
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        print("\ncluster figures:", {name: round(value, 2) for name, value in FIGURES.items()})


@pytest.fixture(scope="module")
def lab(cluster, tmp_path_factory):
    address, _, _ = cluster
    engine = create_engine({"RNNLAB_SCHEDULER": address})
    lab = Lab(Store(str(tmp_path_factory.mktemp("home"))), engine)
    yield lab
    engine.close()


def local_cluster_hosts() -> list:
    """Local cluster hosts this test process started (an engine starts its host as its own child; a served app's
    engine, the browser tests' shared server's, is a child of that server, not of this process)."""
    import psutil

    return [child for child in psutil.Process().children()
            if "rnnlab.engine.local" in " ".join(child.cmdline())]


def test_the_cluster_runs_the_installed_package_with_the_readmes_settings(cluster):
    address, client, package_path = cluster
    where = client.run(lambda: __import__("rnnlab").__file__)
    where[address] = client.run_on_scheduler(lambda: __import__("rnnlab").__file__)  # it unpickles task graphs
    for found in where.values():
        assert package_path is None or Path(found).is_relative_to(package_path)
    paths = client.run(lambda: (__import__("os").getcwd(), __import__("os").environ.get("PYTHONPATH", "")))
    for cwd, pythonpath in paths.values():
        assert not Path(cwd).is_relative_to(ROOT) and str(ROOT) not in pythonpath.split(os.pathsep)
    settings = client.run(lambda: __import__("dask").config.get("distributed.worker.profile.enabled"))
    assert set(settings.values()) == {False}
    assert client.run_on_scheduler(lambda: __import__("dask").config.get("distributed.scheduler.allowed-failures")) == 0
    readme = (ROOT / "README.md").read_text()
    for name, value in {**dask_environment("scheduler"), **dask_environment("worker")}.items():
        assert f"{name}={value}" in readme, f"the README's recipe does not set {name}={value}"


def test_a_run_trains_on_the_cluster_and_no_local_cluster_starts(cluster, lab):
    address, client, _ = cluster
    assert isinstance(lab.engine, DaskEngine) and lab.engine.address == address
    learner = lab.store.new_learner("Ada").token
    started = time.monotonic()
    [handle] = lab.start(learner, [TINY])
    wait_until(lambda: handle.record.steps_done > 0, what="the first loss point")
    FIGURES["first loss point (s)"] = time.monotonic() - started
    assert handle.join(WAIT) and handle.record.status == "finished"
    assert handle.worker_address in client.scheduler_info()["workers"] and handle.worker_pid != os.getpid()
    assert lab.engine._host is None and local_cluster_hosts() == []
    assert lab.store.run(handle.run_id).status == "finished" and handle.model is not None


def test_stop_ends_a_run_mid_way(lab):
    learner = lab.store.new_learner("Ben").token
    [handle] = lab.start(learner, [ENDLESS])
    wait_until(lambda: handle.record.epochs_done >= 1, what="an epoch")
    asked = time.monotonic()
    handle.stop()
    assert handle.join(WAIT)
    FIGURES["stop latency (s)"] = time.monotonic() - asked
    record = lab.store.run(handle.run_id)
    assert record.status == "stopped" and 1 <= record.epochs_done < ENDLESS.epochs


def test_a_killed_worker_fails_only_its_run_and_the_next_run_trains(cluster, lab):
    _, client, _ = cluster
    learner = lab.store.new_learner("Cy").token
    [handle] = lab.start(learner, [ENDLESS])
    wait_until(lambda: handle.record.steps_done > 0, what="the run to train")
    killed = time.monotonic()
    os.kill(handle.worker_pid, signal.SIGKILL)  # the worker process itself; its nanny stays
    assert handle.join(WAIT)
    record = lab.store.run(handle.run_id)
    assert record.status == "failed"
    assert record.message.startswith("The worker training this run stopped: it passed its 2.0 GB memory limit or "
                                     "crashed. Everyone else's runs carry on")
    [after] = lab.start(learner, [TINY])
    wait_until(lambda: after.record.steps_done > 0, what="the next run")
    FIGURES["killed worker: kill to the next run's first loss point (s)"] = time.monotonic() - killed
    assert after.join(WAIT) and after.record.status == "finished"
    wait_until(lambda: len(client.nthreads()) == 2, what="the nanny's new worker")
    FIGURES["killed worker: kill to a new worker (s)"] = time.monotonic() - killed


APP_SERVER = textwrap.dedent("""\
    import sys, time
    from rnnlab.config import RunConfig
    from rnnlab.lab import Lab

    lab = Lab()  # RNNLAB_HOME's store, the engine RNNLAB_SCHEDULER names: as the web server makes it
    learner = lab.store.new_learner("Dee").token
    [handle] = lab.start(learner, [RunConfig.from_dict({config!r})])
    while handle.record.steps_done == 0:
        time.sleep(0.05)
    print(handle.run_id, flush=True)
    sys.stdin.read()  # until the test ends this process
""")


def test_a_new_app_server_marks_the_cut_off_run_interrupted_and_the_cluster_serves_on(cluster, tmp_path):
    address, client, _ = cluster
    home = tmp_path / "home"
    environment = {**os.environ, "RNNLAB_HOME": str(home), "RNNLAB_SCHEDULER": address,
                   "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-c", APP_SERVER.format(config=TINY.replace(epochs=60).to_dict())],
                              cwd=ROOT, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        run_id = server.stdout.readline().strip()
        assert run_id, "the first app server did not start its run"
        assert Store(str(home)).run(run_id).status == "running"
    finally:
        server.kill()  # as abruptly as a crash: no engine close, no listener hears the end
        server.wait(30)
    restarted = time.monotonic()
    engine = create_engine({"RNNLAB_SCHEDULER": address})
    try:
        lab = Lab(Store(str(home)), engine)
        assert lab.interrupted == 1 and lab.store.run(run_id).status == "interrupted"
        learner = lab.store.new_learner("Eve").token
        [handle] = lab.start(learner, [TINY])
        wait_until(lambda: handle.record.steps_done > 0, what="a run after the restart")
        FIGURES["restart: new Lab to the first loss point (s)"] = time.monotonic() - restarted
        assert handle.join(WAIT) and handle.record.status == "finished"
        assert lab.store.run(run_id).status == "interrupted"  # the cut-off run's own end never reaches this store
    finally:
        engine.close()
    assert len(client.nthreads()) == 2  # the cluster is still there for whoever comes next
