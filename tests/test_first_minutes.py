"""Issue 19, the first minutes of a class: graph reuse in a warm worker gives a fresh model's numbers, the engine's
start-up state and the queue's wait estimates.

    /work/main/.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_first_minutes.py
"""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

from rnnlab.config import RunConfig
from rnnlab.engine import cluster
from rnnlab.engine.cluster import DaskEngine
from rnnlab.engine.queueing import wait_seconds
from rnnlab.engine.startup import EngineState, state_sentence
from rnnlab.engine.warm_graphs import GraphCache, graph_key
from rnnlab.data import make_dataset
from rnnlab.records import RunRecord
from rnnlab.training import Trainer

SMALL = RunConfig(task="sine", seq_len=8, samples=96, eval_samples=32, units=6, epochs=2, batch_size=16)


def losses(config, cache=None):
    trainer = Trainer(config, model_maker=cache.model_for if cache else None)
    record = trainer.run()
    assert record.status == "finished", record.message
    return trainer, record


@pytest.mark.parametrize("change", [{}, pytest.param({"cell": "gru", "optimizer": "rmsprop", "clipnorm": 1.0},
                                                     marks=pytest.mark.slow),
                                    pytest.param({"task": "adding", "optimizer": "sgd"}, marks=pytest.mark.slow)])
def test_a_reused_graph_gives_the_same_losses_as_a_fresh_model_for_the_same_seed(change, monkeypatch):
    # Keras calls a model's Python `train_step` only while it traces the training function: count those calls.
    traces = []
    original = TensorFlowTrainer.train_step
    monkeypatch.setattr(TensorFlowTrainer, "train_step", lambda self, data: traces.append(1) or original(self, data))
    config = SMALL.replace(**change)
    _, fresh = losses(config.replace(seed=3))
    assert traces, "the counter must see a fresh model's tracing"
    cache = GraphCache()
    first, other = losses(config.replace(seed=5), cache)  # traces the graph, with another seed's weights and data
    step, traced = first.model.train_function, len(traces)
    again, reused = losses(config.replace(seed=3), cache)
    assert (cache.misses, cache.hits) == (1, 1)
    assert again.model is first.model and again.model.train_function is step  # reuse happened...
    assert len(traces) == traced  # ...and traced nothing new
    assert reused.batch_loss == fresh.batch_loss  # exactly: every batch's loss
    assert reused.history == fresh.history and reused.test_loss == fresh.test_loss
    assert other.batch_loss != fresh.batch_loss  # the seed still matters


def test_reuse_is_refused_where_it_could_not_be_exact_or_the_graph_differs():
    config = SMALL
    dataset = make_dataset(config)
    cache = GraphCache()
    model = cache.model_for(config, dataset)
    assert graph_key(config.replace(dropout=0.2), dataset, model) is None  # dropout's masks are not weights
    assert graph_key(config, dataset, model) == graph_key(config.replace(seed=9, epochs=7), dataset, model)
    assert graph_key(config, dataset, model) != graph_key(config.replace(learning_rate=0.01), dataset, model)
    wider = cache.model_for(config.replace(units=7), make_dataset(config))
    assert wider is not model and cache.hits == 0


def test_the_start_up_sentence_and_the_wait_estimate():
    assert state_sentence(EngineState(1, 3, "starting")) == "Starting the training workers: 1 of 3 ready."
    assert state_sentence(EngineState(3, 3, "ready")) == ""
    assert wait_seconds(3, [12.0, 40.0, 3.5], []) == 3.5
    assert wait_seconds(3, [12.0, 40.0, 3.5], [30.0]) == 12.0  # the first ahead takes the 3.5 s worker
    assert wait_seconds(3, [12.0, 40.0], []) == 0.0  # a worker is free
    assert wait_seconds(3, [None, 40.0, 3.5], []) is None  # not computed: the page says what it waits for
    assert np.isclose(wait_seconds(1, [10.0], [5.0, 5.0]), 20.0)


def test_the_time_left_leaves_the_first_batchs_start_up_out_of_the_pace():
    # The first batch took 9 s (data, building, tracing on a busy machine), the next two 0.5 s each: 27 batches
    # are left at 0.5 s, not at the 3.3 s a batch the whole run's mean would say.
    record = RunRecord(SMALL.replace(epochs=1), steps_per_epoch=30, batch_loss=[1.0, 0.9, 0.8],
                       batch_progress=[0.1, 0.2, 0.3], wall_seconds=10.0, first_batch_seconds=9.0)
    assert record.seconds_left() == pytest.approx(13.5)
    _, trained = losses(SMALL)  # the trainer records where the first batch ended
    assert 0 < trained.first_batch_seconds < trained.wall_seconds


def test_the_teachers_queue_names_who_trains_where_and_who_waits_in_which_place():
    from rnnlab.engine.queueing import class_queue
    from rnnlab.records import RunRecord
    from rnnlab.store import Learner

    ada, ben = Learner("t1", "Ada", "c"), Learner("t2", "", "c")
    runs = [RunRecord(SMALL) for _ in range(3)]
    rows = [{"run_id": runs[0].run_id, "place": None, "worker": "tcp://127.0.0.1:40123", "wait_seconds": None,
             "after": None},
            {"run_id": runs[1].run_id, "place": 1, "worker": None, "wait_seconds": 12.4, "after": None},
            {"run_id": "another class's", "place": 2, "worker": None, "wait_seconds": None, "after": None},
            {"run_id": runs[2].run_id, "place": 3, "worker": None, "wait_seconds": None, "after": None}]
    shown = class_queue(rows, [(ada, runs[0]), (ben, runs[1]), (ben, runs[2])], {"t1": "Ada", "t2": "learner 2"})
    assert [(row["learner"], row["where"]) for row in shown] == [
        ("Ada", "training on worker 40123"), ("learner 2", "waiting, place 1, about 12 s"),
        ("learner 2", "waiting, place 3")]


@pytest.mark.slow
def test_a_repeated_configuration_goes_to_the_free_worker_that_traced_its_graph():
    # Two graphs trained at once land on the two workers; each again, alone and with another seed, must go back to
    # its own worker whichever worker Dask would pick by itself (one of the two repeats would then miss).
    engine = DaskEngine(n_workers=2, memory_limit=2 * 2**30)
    try:
        assert engine.wait_until_ready(300), engine.describe()
        first, second = SMALL, SMALL.replace(units=8)
        handles = [engine.submit(first), engine.submit(second)]
        assert all(handle.join(300) for handle in handles)
        where = {config.units: handle.worker_address for config, handle in zip((first, second), handles)}
        assert len(set(where.values())) == 2, where
        for config in (second, first):
            again = engine.submit(config.replace(seed=config.seed + 1))
            assert again.join(300) and again.record.status == "finished", again.record.message
            assert again.worker_address == where[config.units]
    finally:
        engine.close()


@pytest.mark.slow
@pytest.mark.parametrize("pressed", [1, 2])
def test_a_second_run_waiting_on_a_starting_cluster_asks_for_every_worker_at_once(pressed, monkeypatch):
    # Issue 19: a learner alone trains on the first worker while the others wait to be asked for (they would
    # slow its TensorFlow import on two cores); a second run pressed while the cluster starts asks for them then,
    # not once the first worker has imported TensorFlow.
    asked = []  # for each request for more workers: how many, and the workers warm at that moment
    scale = cluster.LocalClusterHost.scale
    monkeypatch.setattr(cluster.LocalClusterHost, "scale",
                        lambda host, count: asked.append((count, sorted(engine._warm))) or scale(host, count))
    engine = DaskEngine(n_workers=2, memory_limit=2 * 2**30)
    try:
        handles = [engine.submit(SMALL.replace(seed=seed)) for seed in range(pressed)]  # the cluster is starting
        assert all(handle.join(300) for handle in handles), engine.describe()
        assert [handle.record.status for handle in handles] == ["finished"] * pressed
        assert engine.wait_until_ready(300), engine.describe()
        assert len(asked) == 1 and asked[0][0] == 2, asked  # asked once, for both workers
        if pressed == 1:
            assert len(asked[0][1]) == 1  # once the first worker was warm
        else:
            assert asked[0][1] == []  # before any worker was warm
    finally:
        engine.close()


def _start_method() -> dict:
    """In a worker: what started it, what its parent has loaded, and TensorFlow's thread pools."""
    import os

    import psutil
    import tensorflow as tf

    parent = psutil.Process().parent()
    with open(f"/proc/{parent.pid}/maps") as maps:
        parent_has_tensorflow = "tensorflow" in maps.read()
    return {"parent": " ".join(parent.cmdline()), "parent_has_tensorflow": parent_has_tensorflow, "pid": os.getpid(),
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads()}


@pytest.mark.slow
def test_workers_are_forks_of_a_forkserver_that_only_imported_tensorflow_and_train_the_same_losses():
    # Issue 19: the local cluster's workers (and the one the nanny starts after a crash) are forked from a
    # forkserver that imported TensorFlow, so they skip the import. Safe only if the forkserver ran no operation:
    # TensorFlow's thread pools can be set only before its first one, so a worker whose pools are the engine's
    # `tf_threads` inherited none. And a seeded run trains the losses it trains in this process.
    engine = DaskEngine(n_workers=2, memory_limit=2 * 2**30, tf_threads=1)
    try:
        assert engine.wait_until_ready(300), engine.describe()
        started = engine.client.run(_start_method)
        assert len(started) == 2
        for how in started.values():
            assert "multiprocessing.forkserver" in how["parent"], how
            assert how["parent_has_tensorflow"], how
            assert (how["intra"], how["inter"]) == (1, 1), how
        config = SMALL.replace(seed=11)
        handle = engine.submit(config)
        assert handle.join(300) and handle.record.status == "finished", handle.record.message
        _, here = losses(config)
        assert handle.record.batch_loss == here.batch_loss  # exactly: every batch's loss
        assert handle.record.history == here.history and handle.record.test_loss == here.test_loss

        engine.client.run(os._exit, 1, workers=[handle.worker_address], on_error="ignore")  # a crash
        deadline = time.monotonic() + 300
        while True:  # the nanny's new worker, warm and counted
            restarted = {address: how for address, how in engine.client.run(_start_method, on_error="ignore").items()
                         if isinstance(how, dict) and how["pid"] != handle.worker_pid}
            if len(restarted) == 2 and engine.state().ready == 2:
                break
            assert time.monotonic() < deadline, engine.describe()
            time.sleep(0.2)
        assert all("multiprocessing.forkserver" in how["parent"] and how["intra"] == 1 for how in restarted.values())
        again = [engine.submit(config) for _ in range(2)]  # one of them on the restarted worker
        assert all(run.join(300) for run in again)
        assert [run.record.batch_loss for run in again] == [here.batch_loss] * 2
    finally:
        engine.close()


def test_the_web_servers_lab_starts_its_engine_without_importing_tensorflow():
    """Issue 19: the first page starts the training engine before it imports TensorFlow for itself, so the workers'
    start (their forkserver imports TensorFlow) is not queued behind the web server's own 2.5-4 s import."""
    import subprocess
    import sys

    code = ("import sys; import pages.session, rnnlab.lab; "
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           cwd=str(Path(__file__).resolve().parents[1]))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"


class _Job:
    def __init__(self, status="running", steps=0, place=None):
        self.queue_position, self.record = place, RunRecord(SMALL)
        self.running, self.done = status in ("running", "queued"), status not in ("running", "queued")
        self.record.status, self.record.batch_loss = status, [0.5] * steps


def test_a_panel_waits_for_a_first_point_only_while_a_run_trains_or_queues_without_one():
    from pages import progress

    assert progress.awaiting_first_point([_Job()])
    assert progress.awaiting_first_point([_Job("queued", place=3)])
    assert not progress.awaiting_first_point([_Job("finished", steps=4), _Job()])  # a sweep's chart has its points
    assert not progress.awaiting_first_point([_Job(steps=3)])  # its first point is drawn: the usual rate
    assert not progress.awaiting_first_point([_Job("stopped")])


def test_waiting_for_news_ends_at_the_first_point_or_when_the_learner_asks_and_never_past_its_time(monkeypatch):
    from pages import progress, session

    monkeypatch.setattr(session, "engine_state", lambda: EngineState(ready=1, wanted=1))
    now, job, later = [0.0], _Job("queued", place=2), {}  # later: what happens on the server, at what time

    def sleep(seconds):
        now[0] += seconds
        for at in [at for at in later if at <= now[0]]:
            later.pop(at)()

    def wait(asked=lambda: False):
        start = now[0]
        return progress.wait_for_news([job], 1.0, asked=asked, clock=lambda: now[0], sleep=sleep), now[0] - start

    assert wait() == (False, pytest.approx(1.0, abs=0.03))  # nothing changed: the whole second, no more
    later[now[0] + 0.3] = lambda: setattr(job, "queue_position", 1)
    changed, waited = wait()
    assert changed and waited == pytest.approx(0.3, abs=0.03)  # next in line: drawn at once
    later[now[0] + 0.2] = lambda: job.record.batch_loss.append(0.7)
    changed, waited = wait()
    assert changed and waited == pytest.approx(0.2, abs=0.03)  # the first point
    assert wait(asked=lambda: True) == (False, 0.0)  # a click waits for nothing


def test_the_learners_requests_are_read_from_streamlits_own_queue(monkeypatch):
    """`interrupts.learner_asked` reads Streamlit's private request queue: this fails if an upgrade renames it."""
    from types import SimpleNamespace

    from streamlit.proto.WidgetStates_pb2 import WidgetStates
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    from pages import interrupts

    requests = ScriptRequests()
    monkeypatch.setattr(interrupts, "get_script_run_ctx", lambda: SimpleNamespace(script_requests=requests))
    assert not interrupts.learner_asked()
    requests.request_rerun(RerunData(fragment_id="panel", is_auto_rerun=True))
    assert not interrupts.learner_asked()  # only the panel's own timer
    pressed = WidgetStates()
    pressed.widgets.add(id="stop", trigger_value=True)
    requests.request_rerun(RerunData(fragment_id="panel", is_auto_rerun=True, widget_states=pressed))
    assert interrupts.learner_asked()  # a click folded into the timer's request
    for asked in (RerunData(query_string="page=lessons"), RerunData(fragment_id="panel")):
        requests = ScriptRequests()
        requests.request_rerun(asked)
        assert interrupts.learner_asked()  # a whole-page rerun; a widget of the panel
    requests = ScriptRequests()
    requests.request_stop()
    assert interrupts.learner_asked()
    monkeypatch.setattr(interrupts, "get_script_run_ctx", lambda: None)
    assert not interrupts.learner_asked()  # a bare script: nothing waits


@pytest.mark.slow
def test_the_teachers_server_starts_its_training_workers_before_any_browser_connects(tmp_path):
    """Issue 19: `python serve.py` (the README's command for a class) starts the training engine with the server:
    its worker is started while no browser has opened a page (with `streamlit run app.py`, Streamlit runs none of
    the app before the first page, so the workers started only then). Ending the server ends its workers."""
    import subprocess
    import sys
    import urllib.request

    import psutil

    from helpers import ROOT, free_port

    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("RNNLAB_")}
    environment.update(RNNLAB_HOME=str(tmp_path), RNNLAB_WORKERS="1")
    server = subprocess.Popen([sys.executable, "serve.py", "--server.port", str(port), "--server.address",
                               "127.0.0.1", "--server.headless", "true"], cwd=ROOT, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process, workers, deadline = psutil.Process(server.pid), [], time.monotonic() + 180
        while not workers and time.monotonic() < deadline:  # never a page: only the server's own start
            time.sleep(0.5)
            assert server.poll() is None, "the server exited"
            # The cluster's host forks its workers from its forkserver; a worker is a child of that process.
            forkservers = [child for child in process.children(recursive=True)
                           if "multiprocessing.forkserver" in " ".join(child.cmdline())]
            workers = [worker for forkserver in forkservers for worker in forkserver.children()]
        assert workers, "no training worker started within 180 s of starting the server"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as response:
            assert response.status == 200  # the web server answers meanwhile
        started = process.children(recursive=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=90)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    gone, alive = psutil.wait_procs(started, timeout=60)
    assert not alive, f"still running after the server ended: {[child.cmdline()[:3] for child in alive]}"


@pytest.mark.slow
def test_the_web_server_imports_the_pages_modules_ahead_and_freezes_them_out_of_the_collectors_walks():
    """Issue 19: `rnnlab.preload` imports what the pages need (TensorFlow and Keras through the package) on a thread
    and freezes it, so a full garbage collection walks only what the pages made since, not every object TensorFlow
    holds (0.2-0.4 s a collection with the GIL held, the health check waiting). In a fresh process, as serve.py."""
    import json
    import subprocess
    import sys

    from helpers import ROOT

    script = ("import gc, json, sys\n"
              "from rnnlab import preload\n"
              "thread = preload.start()\n"
              "assert preload.start() is thread  # once per process\n"
              "thread.join()\n"
              "print(json.dumps({'frozen': gc.get_freeze_count(), 'walked': len(gc.get_objects()),\n"
              "                  'imported': [name for name in ('tensorflow', 'keras', 'plotly.graph_objects', 'pandas',\n"
              "                                                 'rnnlab.models') if name in sys.modules]}))\n")
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["imported"] == ["tensorflow", "keras", "plotly.graph_objects", "pandas", "rnnlab.models"]
    assert found["frozen"] > 100_000  # TensorFlow, Keras, Plotly and pandas: about 364,000 objects
    assert found["walked"] < found["frozen"] / 10  # what a full collection still walks


def test_serve_py_starts_the_preload_with_the_lab_before_streamlit(monkeypatch):
    import importlib.util

    from helpers import ROOT
    from rnnlab import lab, preload
    from streamlit.web import cli

    calls = []
    monkeypatch.setattr(lab, "get_lab", lambda: calls.append("lab"))
    monkeypatch.setattr(preload, "start", lambda: calls.append("preload"))
    monkeypatch.setattr(cli, "main", lambda: calls.append("streamlit") or 0)
    spec = importlib.util.spec_from_file_location("serve_under_test", ROOT / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    monkeypatch.setattr(serve.sys, "argv", list(serve.sys.argv))
    assert serve.main(["--server.port", "1"]) == 0
    assert calls == ["lab", "preload", "streamlit"]
    calls.clear()
    assert serve.main(["--help"]) == 0 and calls == ["streamlit"]  # --help starts nothing
