"""The R export, checked with R itself: every script parses, its network is the Python script's layer for layer,
its synthetic data mean what RNN Lab's mean, and the command line and Build & Train offer it.

No R `keras3` package can be installed here (CRAN is out of reach), so the scripts are parsed, not run: R's own parser
reads every script, an R walker turns the parse tree into JSON, and the network it describes is compared with the one
`ast` reads from the Python script. The synthetic data code needs only base R, so Rscript runs it and the arrays are
checked here against the tasks' own rules. Each check makes its R calls in one Rscript process, to stay fast.
"""

import ast
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import build_parser
from rnnlab.config import RunConfig, defaults_for_task
from rnnlab.data import Task, get_task
from rnnlab.data.synthetic import count_scale
from rnnlab.export import keras_script, r_script, script

ROOT = Path(__file__).resolve().parents[1]
RSCRIPT = shutil.which("Rscript")
needs_r = pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed (apt-get install r-base-core), so "
                                                     "the exported R scripts cannot be checked with R's parser")

SMALL = {"samples": 64, "eval_samples": 32, "seq_len": 12, "units": 8}

# Every setting the R export must honour, each at least once; imdb and the four synthetic tasks all appear.
CONFIGS = {
    "simplernn": RunConfig(task="sine", cell="simplernn", **SMALL),
    "lstm": RunConfig(task="sine", cell="lstm", **SMALL),
    "gru": RunConfig(task="sine", cell="gru", **SMALL),
    "stacked": RunConfig(task="count", cell="gru", layers=3, **SMALL),
    "bidirectional": RunConfig(task="adding", cell="simplernn", bidirectional=True, **SMALL),
    "stacked_bidirectional_dropout": RunConfig(task="recall", cell="lstm", layers=2, bidirectional=True,
                                               dropout=0.25, activation="relu", **SMALL),
    "orthogonal_gain": RunConfig(task="adding", recurrent_initializer="orthogonal", recurrent_gain=0.5, **SMALL),
    "identity": RunConfig(task="adding", cell="simplernn", recurrent_initializer="identity", recurrent_gain=2.0,
                          activation="relu", **SMALL),
    "glorot_uniform": RunConfig(task="count", cell="gru", recurrent_initializer="glorot_uniform",
                                recurrent_gain=1.5, **SMALL),
    "forget_bias": RunConfig(task="adding", cell="lstm", forget_bias=5.0, **SMALL),
    "forget_bias_stacked_bidirectional": RunConfig(task="recall", cell="lstm", layers=2, bidirectional=True,
                                                   forget_bias=-2.5, **SMALL),
    "adam_clipped": RunConfig(task="sine", optimizer="adam", learning_rate=1e-4, clipnorm=1.0, **SMALL),
    "rmsprop": RunConfig(task="recall", optimizer="rmsprop", learning_rate=0.01, **SMALL),
    "sgd_clipped": RunConfig(task="count", optimizer="sgd", learning_rate=0.1, clipnorm=0.5, batch_size=7,
                             epochs=3, seed=42, **SMALL),
    "imdb": defaults_for_task("imdb").replace(vocab_size=3000, embedding_dim=16, seq_len=80),
    "imdb_bidirectional_stacked": defaults_for_task("imdb").replace(cell="gru", layers=2, bidirectional=True,
                                                                    dropout=0.1),
    "defaults": RunConfig(),
}
TASKS = ("sine", "count", "adding", "recall", "imdb")


def run_r(program: str, folder: Path, *arguments: str) -> str:
    """Run an R program (with `arguments` for its commandArgs) with Rscript and return what it printed; the test
    fails with R's message if R fails."""
    path = folder / "program.R"
    path.write_text(program)
    result = subprocess.run([RSCRIPT, "--vanilla", str(path), *arguments], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_scripts(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (folder / f"{name}.R").write_text(text)
    return folder


def test_the_configurations_cover_every_cell_initializer_optimizer_and_task():
    configs = CONFIGS.values()
    assert {c.cell for c in configs} == {"simplernn", "lstm", "gru"}
    assert {c.recurrent_initializer for c in configs} == {"orthogonal", "identity", "glorot_uniform"}
    assert {c.optimizer for c in configs} == {"adam", "rmsprop", "sgd"}
    assert {c.task for c in configs} == set(TASKS)
    assert any(c.layers > 1 for c in configs) and any(c.bidirectional for c in configs)
    assert any(c.dropout > 0 for c in configs) and any(c.clipnorm > 0 for c in configs)
    assert any(c.cell == "lstm" and c.forget_bias != 1.0 for c in configs)


# --- R's parser reads every script -----------------------------------------------------------------------------

PARSE_ALL = r"""
for (path in list.files(commandArgs(TRUE)[1], pattern = "[.]R$", full.names = TRUE)) {
  verdict <- tryCatch({ parse(file = path); "ok" }, error = function(e) gsub("\n", " ", conditionMessage(e)))
  cat(sub("[.]R$", "", basename(path)), "\t", verdict, "\n", sep = "")
}
"""


@needs_r
def test_every_exported_r_script_parses(tmp_path):
    scripts = {name: r_script(config) for name, config in CONFIGS.items()}
    # A script with a syntax error must be reported, or a parser that never complains would pass this test.
    scripts["deliberately_broken"] = scripts["lstm"].replace("layer_dense(units = 1)", "layer_dense(units = 1")
    printed = run_r(PARSE_ALL, tmp_path, str(write_scripts(tmp_path / "scripts", scripts)))
    verdicts = dict(line.split("\t", 1) for line in printed.strip().splitlines())
    assert set(verdicts) == set(scripts)
    failed = {name: verdict for name, verdict in verdicts.items() if verdict != "ok" and name != "deliberately_broken"}
    assert not failed, f"R could not parse: {failed}"
    assert verdicts["deliberately_broken"] != "ok"


# --- The same network in both scripts ----------------------------------------------------------------------------

# Writes each top-level expression of each script as one JSON line: calls with their function name and their
# (named or unnamed) arguments, symbols, and constants as R deparses them. The native pipe `a |> f(b)` is already
# `f(a, b)` in the parse tree, so a chain of layers nests with the first layer innermost.
WALK_ALL = r"""
to_json <- function(node) {
  if (missing(node)) return('{"symbol": ""}')  # an empty argument, as in x[, , k]
  if (is.call(node)) {
    args <- as.list(node)[-1]
    labels <- names(args)
    if (is.null(labels)) labels <- rep("", length(args))
    items <- vapply(seq_along(args), function(i) {
      sprintf('{"name": %s, "value": %s}', encodeString(labels[i], quote = '"'), to_json(args[[i]]))
    }, "")
    fn <- paste(deparse(node[[1]]), collapse = "")
    sprintf('{"call": %s, "args": [%s]}', encodeString(fn, quote = '"'), paste(items, collapse = ", "))
  } else if (is.symbol(node)) {
    sprintf('{"symbol": %s}', encodeString(as.character(node), quote = '"'))
  } else {
    sprintf('{"value": %s}', encodeString(paste(deparse(node), collapse = " "), quote = '"'))
  }
}
for (path in list.files(commandArgs(TRUE)[1], pattern = "[.]R$", full.names = TRUE)) {
  for (expression in parse(file = path)) {
    cat(sub("[.]R$", "", basename(path)), "\t", to_json(expression), "\n", sep = "")
  }
}
"""

R_CELLS = {"layer_simple_rnn": "simplernn", "layer_lstm": "lstm", "layer_gru": "gru"}
PY_CELLS = {"SimpleRNN": "simplernn", "LSTM": "lstm", "GRU": "gru"}


def r_trees(tmp_path, scripts: dict[str, str]) -> dict[str, list[dict]]:
    printed = run_r(WALK_ALL, tmp_path, str(write_scripts(tmp_path / "walked", scripts)))
    trees: dict[str, list[dict]] = {name: [] for name in scripts}
    for line in printed.splitlines():
        name, tree = line.split("\t", 1)
        trees[name].append(json.loads(tree))
    return trees


def r_value(node: dict):
    """An R constant or small expression as a Python value: numbers, TRUE/FALSE, strings, 2^2, c(...), symbols."""
    if "value" in node:
        text = node["value"]
        if text in ("TRUE", "FALSE"):
            return text == "TRUE"
        if text.startswith('"'):
            return json.loads(text)
        return float(text.rstrip("L"))
    if "symbol" in node:
        return node["symbol"]
    args = [r_value(arg["value"]) for arg in node["args"]]
    if node["call"] == "^":
        return args[0] ** args[1]
    if node["call"] in ("c", "list"):
        return tuple(args)
    raise AssertionError(f"unexpected R expression {node}")


def r_arguments(node: dict) -> tuple[list[dict], dict[str, dict]]:
    """A call's unnamed arguments (as trees) and its named ones."""
    return ([arg["value"] for arg in node["args"] if not arg["name"]],
            {arg["name"]: arg["value"] for arg in node["args"] if arg["name"]})


def r_initializer(node: dict) -> tuple:
    _, named = r_arguments(node)
    if node["call"] == "initializer_variance_scaling":
        return ("glorot_uniform", round(math.sqrt(r_value(named["scale"])), 9), r_value(named["mode"]),
                r_value(named["distribution"]))
    return ({"initializer_orthogonal": "orthogonal", "initializer_identity": "identity"}[node["call"]],
            round(r_value(named["gain"]), 9))


def r_layer(node: dict) -> tuple:
    unnamed, named = r_arguments(node)
    call = node["call"]
    if call == "keras_model_sequential":
        shape = r_value(named["input_shape"])
        return ("input", shape[1] if len(shape) > 1 else "tokens")
    if call == "layer_bidirectional":
        inner = named.get("layer", unnamed[1] if len(unnamed) > 1 else None)
        cell = r_layer(inner)
        return (*cell[:4], True, *cell[5:])
    if call in R_CELLS:
        return ("recurrent", R_CELLS[call], r_value(named["units"]), r_value(named["return_sequences"]), False,
                r_value(named["activation"]), r_initializer(named["recurrent_initializer"]))
    if call == "layer_dropout":
        return ("dropout", r_value(named["rate"]))
    if call == "layer_dense":
        return ("dense", r_value(named["units"]), r_value(named["activation"]) if "activation" in named else "linear")
    if call == "layer_embedding":
        return ("embedding", r_value(named["output_dim"]))
    raise AssertionError(f"unexpected R layer {call}")


def r_chain(node: dict) -> list[tuple]:
    """The layers of `keras_model_sequential(...) |> layer_a(...) |> layer_b(...)`, first to last."""
    if node["call"] == "keras_model_sequential":
        return [r_layer(node)]
    unnamed, named = r_arguments(node)
    inner = named.get("object", unnamed[0])
    return r_chain(inner) + [r_layer(node)]


def r_network(trees: list[dict]) -> dict:
    """Layers, compile and fit settings of an R script, read from its parse tree."""
    network = {}
    for tree in trees:
        unnamed, named = r_arguments(tree) if "call" in tree else ([], {})
        if tree.get("call") == "<-" and unnamed[0] == {"symbol": "model"}:
            network["layers"] = r_chain(unnamed[1])
        elif tree.get("call") == "compile":
            assert unnamed == [{"symbol": "model"}]
            optimizer = named["optimizer"]
            _, options = r_arguments(optimizer)
            network["compile"] = (optimizer["call"].removeprefix("optimizer_"), r_value(options["learning_rate"]),
                                  r_value(options["clipnorm"]) if "clipnorm" in options else None,
                                  r_value(named["loss"]),
                                  tuple(np.atleast_1d(r_value(named["metrics"]))) if "metrics" in named else ())
        elif tree.get("call") == "<-" and unnamed[1].get("call") == "fit":
            fit_unnamed, fit_named = r_arguments(unnamed[1])
            assert fit_unnamed[0] == {"symbol": "model"}  # fit(model, x, y, ...) is Python's model.fit(x, y, ...)
            network["fit"] = (tuple(r_value(node) for node in fit_unnamed[1:]), r_value(fit_named["batch_size"]),
                              r_value(fit_named["epochs"]), r_value(fit_named["validation_data"]))
    return network


def py_value(node: ast.expr):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return py_value(node.left) ** py_value(node.right)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(py_value(element) for element in node.elts)
    value = ast.literal_eval(node)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def py_initializer(node: ast.Call) -> tuple:
    kind = node.func.attr
    named = {keyword.arg: keyword.value for keyword in node.keywords}
    if kind == "VarianceScaling":
        return ("glorot_uniform", round(math.sqrt(py_value(named["scale"])), 9), py_value(named["mode"]),
                py_value(named["distribution"]))
    return ({"Orthogonal": "orthogonal", "Identity": "identity"}[kind], round(py_value(named["gain"]), 9))


def py_layer(node: ast.Call) -> tuple:
    kind = node.func.attr
    named = {keyword.arg: keyword.value for keyword in node.keywords}
    if kind == "Input":
        shape = py_value(named["shape"])
        return ("input", shape[1] if len(shape) > 1 else "tokens")
    if kind == "Bidirectional":
        cell = py_layer(node.args[0])
        return (*cell[:4], True, *cell[5:])
    if kind in PY_CELLS:
        return ("recurrent", PY_CELLS[kind], py_value(node.args[0]), py_value(named["return_sequences"]), False,
                py_value(named["activation"]), py_initializer(named["recurrent_initializer"]))
    if kind == "Dropout":
        return ("dropout", py_value(node.args[0]))
    if kind == "Dense":
        return ("dense", py_value(node.args[0]), py_value(named["activation"]) if "activation" in named else "linear")
    if kind == "Embedding":
        return ("embedding", py_value(node.args[1]))
    raise AssertionError(f"unexpected Python layer {kind}")


def py_network(text: str) -> dict:
    """Layers, compile and fit settings of a Python export, read with `ast`."""
    network = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "model":
            network["layers"] = [py_layer(element) for element in node.value.args[0].elts]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("compile", "fit"):
            named = {keyword.arg: keyword.value for keyword in node.keywords}
            if node.func.attr == "compile":
                optimizer = named["optimizer"]
                options = {keyword.arg: keyword.value for keyword in optimizer.keywords}
                network["compile"] = (optimizer.func.attr.lower(), py_value(options["learning_rate"]),
                                      py_value(options["clipnorm"]) if "clipnorm" in options else None,
                                      py_value(named["loss"]),
                                      py_value(named["metrics"]) if "metrics" in named else ())
            else:
                network["fit"] = (tuple(py_value(arg) for arg in node.args), py_value(named["batch_size"]),
                                  py_value(named["epochs"]), py_value(named["validation_data"]))
    return network


@needs_r
def test_the_r_network_is_the_python_network_layer_for_layer(tmp_path):
    trees = r_trees(tmp_path, {name: r_script(config) for name, config in CONFIGS.items()})
    for name, config in CONFIGS.items():
        ours, theirs = r_network(trees[name]), py_network(keras_script(config))
        assert ours == theirs, name
        # What the comparison stands on, so it cannot pass by both sides reading nothing.
        recurrent = [layer for layer in ours["layers"] if layer[0] == "recurrent"]
        assert len(recurrent) == config.layers, name
        assert [layer[3] for layer in recurrent] == [True] * (config.layers - 1) + [False], name
        assert all(layer[4] == config.bidirectional and layer[2] == config.units for layer in recurrent), name
        assert ours["fit"][1:3] == (config.batch_size, config.epochs), name


def test_the_forget_bias_is_set_on_every_lstm_direction_as_in_python():
    for name, config in CONFIGS.items():
        r_text, py_text = r_script(config), keras_script(config)
        if config.cell != "lstm" or config.forget_bias == 1.0:
            assert "set_weights" not in r_text, name
            continue
        units = config.units
        # R counts from 1: the forget block is units + 1 .. 2 units, Python's [units:2 units].
        assert f"weights[[index]][{units + 1}:{2 * units}] <- {config.forget_bias:g}" in r_text, name
        assert f"bias[{units}:{2 * units}] = {config.forget_bias:g}" in py_text, name
        names = ", ".join(f'"{config.cell}_{index + 1}"' for index in range(config.layers))
        assert f"for (name in c({names}))" in r_text, name
        # Every third weight array is a bias: one per direction of a bidirectional layer.
        assert "for (index in seq(3, length(weights), by = 3))" in r_text, name


# --- The synthetic data, made by R, mean what RNN Lab's mean ----------------------------------------------------

DATA_CASES = {
    "sine": RunConfig(task="sine", seq_len=9, samples=200, eval_samples=40, seed=3),
    "count": RunConfig(task="count", seq_len=7, samples=200, eval_samples=40, seed=3),
    "count_shortest": RunConfig(task="count", seq_len=2, samples=20, eval_samples=16, seed=2**31 - 1),
    "adding": RunConfig(task="adding", seq_len=11, samples=200, eval_samples=40, seed=3),
    "adding_more_training": RunConfig(task="adding", seq_len=11, samples=300, eval_samples=40, seed=3),
    "adding_shortest": RunConfig(task="adding", seq_len=2, samples=20, eval_samples=16, seed=5),
    "recall": RunConfig(task="recall", seq_len=6, samples=400, eval_samples=40, seed=3),
}


def r_data(tmp_path) -> dict[str, dict[str, np.ndarray]]:
    """Run each case's R data code with Rscript (base R only) and read its four arrays back, in R's shape."""
    blocks = []
    for name, config in DATA_CASES.items():
        blocks.append(
            f"local({{\nSEED <- {config.seed}L\nSEQ_LEN <- {config.seq_len}L\n"
            f"{get_task(config.task).r_data_code(config)}\n"
            'for (array_name in c("x_train", "y_train", "x_val", "y_val")) {\n'
            "  v <- get(array_name)\n"
            "  shape <- if (is.null(dim(v))) length(v) else dim(v)\n"
            f'  cat("{name}", array_name, paste(shape, collapse = ","), '
            'paste(sprintf("%.17g", as.vector(v)), collapse = ","), sep = "\\t")\n'
            '  cat("\\n")\n'
            "}\n})")
    arrays: dict[str, dict[str, np.ndarray]] = {name: {} for name in DATA_CASES}
    for line in run_r("\n".join(blocks), tmp_path).strip().splitlines():
        name, array_name, shape, values = line.split("\t")
        shape = tuple(int(size) for size in shape.split(","))
        # R stores arrays column-major; its x[i, t, f] is NumPy's x[i-1, t-1, f-1] with Fortran order.
        arrays[name][array_name] = np.array(values.split(","), dtype=np.float64).reshape(shape, order="F")
    return arrays


@needs_r
def test_r_data_have_the_shapes_and_meaning_of_rnn_labs(tmp_path):
    data = r_data(tmp_path)
    for name, config in DATA_CASES.items():
        task, arrays = get_task(config.task), data[name]
        ours = task.make(config)  # RNN Lab's NumPy data: the shapes the R data must have
        for split, n in (("train", config.samples), ("val", config.eval_samples)):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            assert x.shape == (n, *ours.x_train.shape[1:]), (name, split)
            assert y.shape == (n, *ours.y_train.shape[1:]), (name, split)
            check = {"sine": _check_sine, "count": _check_count, "adding": _check_adding, "recall": _check_recall}
            check[config.task](task, config, x, y)
        assert not np.array_equal(arrays["x_train"][:16], arrays["x_val"][:16]), name  # two streams, not one
    # The validation stream does not depend on how many training sequences there are, as in RNN Lab.
    np.testing.assert_array_equal(data["adding"]["x_val"], data["adding_more_training"]["x_val"])


def _check_sine(task, config, x, y):
    assert np.all(np.abs(y) <= 1.0) and np.all(np.abs(x) < 1.8)  # a unit wave plus noise of 0.1
    # The clean next value follows the last noisy reading closely (at most 0.1 cycles per step).
    assert np.corrcoef(x[:, -1, 0], y[:, 0])[0, 1] > 0.7


def _check_count(task, config, x, y):
    scale = count_scale(config.seq_len)
    values = np.concatenate([x[:, :, 0], y], axis=1) * scale  # (n, T+1) back to whole numbers
    np.testing.assert_allclose(values, np.round(values), atol=1e-9)
    steps = np.diff(np.round(values), axis=1)
    assert np.all(steps == steps[:, :1]), "each sequence counts by one step"
    assert set(np.unique(steps[:, 0])) <= set(range(-5, 0)) | set(range(1, 6))
    assert np.all(np.abs(values[:, 0]) <= 9)
    assert np.all(np.abs(x) <= 1) and np.all(np.abs(y) <= 1)


def _check_adding(task, config, x, y):
    values, markers = x[:, :, 0], x[:, :, 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = max(config.seq_len // 2, 1)
    assert np.all(markers[:, :half].sum(axis=1) == 1) and np.all(markers[:, half:].sum(axis=1) == 1)
    answers = np.array([task.true_answer(sequence)[0] for sequence in x])
    np.testing.assert_allclose(y[:, 0], answers, rtol=1e-6)  # true_answer is float32


def _check_recall(task, config, x, y):
    np.testing.assert_array_equal(x.sum(axis=2), 1.0)  # one-hot
    assert np.array_equal(y, [task.true_answer(sequence) for sequence in x])
    counts = np.bincount(y.astype(int), minlength=len(task.class_names))
    assert len(counts) == len(task.class_names) and counts.min() > 0  # 0..3, every token drawn


# --- Tasks the R export does not cover, the command line, and Build & Train -------------------------------------


class _NoRTask(Task):
    """A task written for Python only, as the text-generation task is at first."""

    name, kind = "text", "next_token"


def test_a_task_without_r_code_gets_one_sentence(monkeypatch):
    import rnnlab.export.r

    monkeypatch.setattr(rnnlab.export.r, "get_task", lambda name: _NoRTask())
    with pytest.raises(ValueError) as raised:
        script(RunConfig(), "r")
    assert str(raised.value) == "The R export does not cover text yet; use --lang python."
    with pytest.raises(ValueError, match="Language must be one of python, r, ipynb; 'fortran' is not."):
        script(RunConfig(), "fortran")


def test_the_cli_says_a_task_without_r_code_in_one_line_and_exits_2(monkeypatch, capsys):
    import rnnlab.export.r
    from rnnlab import cli

    monkeypatch.setattr(rnnlab.export.r, "get_task", lambda name: _NoRTask())
    with pytest.raises(SystemExit) as exited:
        cli.main(["export", "--lang", "r"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == "rnnlab: error: The R export does not cover text yet; use --lang python.\n"
    assert captured.out == ""


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnlab", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
@needs_r
def test_cli_exports_r_that_parses_and_refuses_unknown_languages(tmp_path):
    result = run_cli("export", "--lang", "r", "--task", "adding", "--cell", "gru", "--layers", "2", "--bidirectional")
    assert result.returncode == 0, result.stderr
    expected = r_script(defaults_for_task("adding").replace(cell="gru", layers=2, bidirectional=True))
    assert result.stdout == expected
    assert result.stdout.count("layer_bidirectional(") == 2 and result.stdout.count("layer_gru(") == 2
    (tmp_path / "model.R").write_text(result.stdout)
    assert run_r(f'invisible(parse(file = "{tmp_path / "model.R"}")); cat("parsed")', tmp_path) == "parsed"
    assert build_parser().parse_args(["export"]).lang == "python"  # the default stays Python

    refused = run_cli("export", "--lang", "fortran")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error:") and "'fortran'" in lines[0]
    assert "Traceback" not in refused.stderr + refused.stdout


def test_build_and_train_shows_python_and_r_tabs_with_their_scripts():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["task"] = "recall"
    at.query_params["cell"] = "gru"
    at.query_params["bidirectional"] = "true"
    at.run()
    assert not at.exception
    config = at.session_state["config"]
    assert (config.task, config.cell, config.bidirectional) == ("recall", "gru", True)
    expander = next(e for e in at.expander if e.label == "This network as Keras code")
    # Issue 20 added the notebook's tab beside them.
    assert [tab.label for tab in expander.tabs] == ["Python", "R", "Notebook"]
    python_tab, r_tab, notebook_tab = expander.tabs
    assert notebook_tab.caption[0].value.startswith("The Python script as a Jupyter notebook")
    assert len(notebook_tab.get("download_button")) == 1
    # st.code shows the text without its final newline; the download button carries the file itself.
    assert [code.value for code in python_tab.code] == [keras_script(config).rstrip("\n")]
    assert [code.value for code in r_tab.code] == [r_script(config).rstrip("\n")]
    assert [code.language for code in r_tab.code] == ["r"]
    # model.summary() sits with the layer table, in its own expander.
    summary = next(e for e in at.expander if e.label == "model.summary()")
    assert "Total params" in summary.code[0].value
