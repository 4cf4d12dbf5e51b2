"""The command line: `python -m rnnlab train ...` trains a configuration and writes its run record as JSON.

    python -m rnnlab train --task adding --seq-len 50 --cell gru --epochs 5 --out gru.json
    python -m rnnlab train --task imdb --imdb-csv reviews.csv --vocab 2000 --maxlen 200
    python -m rnnlab train --task text --corpus grammar --save-model grammar.keras --out grammar.json
    python -m rnnlab generate --model grammar.keras --prompt "The cat sat on the" --top-k 5 --length 20
    python -m rnnlab export --cell lstm --layers 2 > model.py
    python -m rnnlab export --lang r --task adding --cell gru --bidirectional > model.R
    python -m rnnlab export --lang ipynb --task adding --cell gru > model.ipynb
    python -m rnnlab train --task adding --epochs 5 --tensorboard logs/    # then: tensorboard --logdir logs/

Every `RunConfig` field is a flag (`seq_len` is `--seq-len`), with the same help text and limits as the dashboard;
`--corpus` also takes the path of a .txt file. `--save-model FILE.keras` saves the trained model of any task (a text
model with its vocabulary: `rnnlab.saving`), and `generate` lets a saved text model write.
Bad arguments print one line on stderr and exit with code 2; missing data prints one line and exits with 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
from pathlib import Path
from typing import Sequence

from rnnlab.config import EXPORT_LANGUAGES, RunConfig, defaults_for_task, field_info

# Probe results are only written when asked for, so a plain run's JSON stays small.
_PROBE_KEYS = ("grad_norms_at_init", "grad_norms", "gates_at_init", "gates")


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (argparse prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(f"{message} (see '{self.prog} --help')", code=2)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"rnnlab: error: {message}\n")
    raise SystemExit(code)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field, typed and described by the field itself."""
    for spec in dataclasses.fields(RunConfig):
        info = field_info(spec.name)
        flag = "--" + (info["flag"] or spec.name.replace("_", "-"))
        kind = info["type"]
        limits = ""
        if info["low"] is not None:
            limits = f" ({info['low']:g} to {info['high']:g})"
        help_text = f"{info['help']}{limits} Default: {info['default']!r}."
        if kind is bool:
            parser.add_argument(flag, dest=spec.name, action="store_true", default=None, help=help_text)
        elif info["file_field"]:  # a choice, or the path of a file in its place (--corpus notes.txt)
            parser.add_argument(flag, dest=spec.name, default=None, metavar="|".join([*info["choices"], "FILE.txt"]),
                                help=f"{help_text} A path reads that file.")
        else:
            parser.add_argument(flag, dest=spec.name, type=kind, choices=info["choices"], default=None,
                                metavar=spec.name.upper() if not info["choices"] else None, help=help_text)
    # The IMDB name for the sequence length, as Keras's own IMDB example calls it.
    parser.add_argument("--maxlen", dest="seq_len", type=int, default=None, help="IMDB: same as --seq-len.")


def build_parser() -> argparse.ArgumentParser:
    # Named as it was started: the installed `rnnlab` command, or `python -m rnnlab`.
    prog = "rnnlab" if os.path.basename(sys.argv[0]) == "rnnlab" else "python -m rnnlab"
    parser = _Parser(prog=prog, description="Train and inspect recurrent networks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="Train a configuration and print one line per epoch.")
    _add_config_flags(train)
    train.add_argument("--out", type=Path, metavar="FILE.json", help="Write the run record here as JSON.")
    train.add_argument("--save-model", type=Path, metavar="FILE.keras",
                       help="Save the trained model here (Keras format; a text model keeps its vocabulary).")
    train.add_argument("--grad-norms", action="store_true",
                       help="Record the gradient norm at every time step on a probe batch after each epoch.")
    train.add_argument("--gates", action="store_true",
                       help="Record the gate activations of one probe sequence after each epoch.")
    train.add_argument("--tensorboard", type=Path, metavar="DIR",
                       help="Also write the run as TensorBoard event files under DIR/<run> (per epoch: the losses "
                            "and accuracies, the gradient norms over time and each gate's saturation; records the "
                            "probes, as --grad-norms --gates do). Read them with: tensorboard --logdir DIR")

    export = commands.add_parser("export", help="Print a standalone Keras script for a configuration.")
    _add_config_flags(export)
    export.add_argument("--lang", choices=EXPORT_LANGUAGES, default=EXPORT_LANGUAGES[0],
                        help="The script's language: python (Keras and NumPy), r (the R keras3 package) or ipynb (the "
                             "Python script as a Jupyter notebook, a Markdown cell before each step). "
                             f"Default: {EXPORT_LANGUAGES[0]!r}.")

    generate = commands.add_parser("generate", help="Let a saved text model write: the most likely next tokens after "
                                                    "a prompt, then a continuation.")
    generate.add_argument("--model", type=Path, required=True, metavar="FILE.keras",
                          help="A text model saved with train --task text --save-model.")
    generate.add_argument("--prompt", required=True, metavar="TEXT", help="The text the model reads first.")
    generate.add_argument("--top-k", type=int, default=5, metavar="K",
                          help="How many of the most likely next tokens to print. Default: 5.")
    generate.add_argument("--length", type=int, default=40, metavar="N",
                          help="How many tokens to write after the prompt. Default: 40.")
    generate.add_argument("--temperature", type=float, default=1.0, metavar="F",
                          help="Divides the logits before sampling: below 1 is bolder in the likely tokens, above 1 "
                               "more adventurous, 0 always takes the most likely one. Default: 1.")
    generate.add_argument("--seed", type=int, default=0, metavar="N",
                          help="Seeds the sampler: the same seed writes the same text. Default: 0.")
    return parser


def config_from_args(arguments: argparse.Namespace) -> RunConfig:
    """The configuration the flags describe: each task's own defaults, then whatever the flags set."""
    given = {spec.name: getattr(arguments, spec.name) for spec in dataclasses.fields(RunConfig)
             if getattr(arguments, spec.name) is not None}
    for name, value in list(given.items()):
        info = field_info(name)
        if info["file_field"] and value not in info["choices"]:
            if not _looks_like_path(value):
                raise ValueError(f"{info['label']} must be one of {', '.join(info['choices'])} or the path of a "
                                 f".txt file; {value!r} is neither.")
            given[name], given[info["file_field"]] = "file", value
    base = defaults_for_task(given.get("task", RunConfig().task))
    return base.replace(**given)


def _looks_like_path(value: str) -> bool:
    return os.sep in value or "." in os.path.basename(value) or os.path.exists(value)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.command == "generate":
        return _generate(arguments)
    try:
        config = config_from_args(arguments)
    except ValueError as error:
        _fail(str(error), code=2)
    if arguments.command == "export":
        with _quiet_native_stderr():
            from rnnlab.export import script  # start-up time: arguments are checked before the export's imports
        try:
            text = script(config, arguments.lang)
        except ValueError as error:  # a task this language cannot write yet
            _fail(str(error), code=2)
        sys.stdout.write(text)
        return 0
    if arguments.save_model is not None:
        from rnnlab.saving import check_path  # no Keras needed to check a path

        try:
            check_path(arguments.save_model)
        except ValueError as error:
            _fail(str(error), code=2)
    return _train(config, arguments)


def _train(config: RunConfig, arguments: argparse.Namespace) -> int:
    with _quiet_native_stderr():
        # Start-up time: TensorFlow is imported only once the arguments are known to be good.
        from rnnlab import training
        from rnnlab.data import DownloadUnavailable, get_task
    task = get_task(config.task)
    try:
        # A file smaller than the defaults ask for trains on what it holds, as the app does, and says so.
        config, note = task.fit(config)
        if note:
            print(f"rnnlab: {note}", flush=True)
        dataset = task.make(config)
    except DownloadUnavailable as error:
        _fail(error.sentence("cli"), code=1)
    except ValueError as error:
        _fail(str(error), code=1)
    print(f"{config.label()}: {len(dataset.x_train):,} training {task.items}, {dataset.source}", flush=True)
    probes = arguments.tensorboard is not None  # TensorBoard's histograms are the probes'
    trainer = training.Trainer(config, dataset, callbacks=[_epoch_printer(training)],
                               record_grad_norms=arguments.grad_norms or probes,
                               record_gates=arguments.gates or probes)
    try:
        record = trainer.run()
    except Exception as error:  # The learner gets one line; the details are not theirs to debug.
        _fail(f"training failed: {error}", code=1)
    summary = [f"{record.status}: {record.params:,} parameters", f"{record.wall_seconds:.1f} s",
               f"{record.samples_per_second:,.0f} {task.items}/s"]
    if record.test_accuracy is not None:
        summary.append(f"test accuracy {record.test_accuracy:.3f}")
    elif record.test_loss is not None:
        summary.append(f"test loss {record.test_loss:.4f}")
    print(", ".join(summary), flush=True)
    if record.message:
        sys.stderr.write(f"rnnlab: {record.message}\n")
    if arguments.out:
        values = record.to_dict()
        for key in _PROBE_KEYS:
            if not values.get(key):
                values.pop(key, None)
        arguments.out.write_text(json.dumps(values, allow_nan=False))
        print(f"wrote {arguments.out}", flush=True)
    if arguments.tensorboard is not None:
        from rnnlab import tensorboard  # start-up time: writing logs imports TensorFlow

        try:
            folder = tensorboard.write(record, arguments.tensorboard)
        except OSError as error:
            _fail(f"could not write the TensorBoard logs to {arguments.tensorboard}: {error.strerror or error}",
                  code=1)
        print(f"wrote TensorBoard logs to {folder} (see them with: tensorboard --logdir {arguments.tensorboard})",
              flush=True)
    if arguments.save_model is not None and trainer.model is not None:
        from rnnlab.saving import save_model  # start-up time: Keras, only when a model is saved

        save_model(trainer.model, dataset, arguments.save_model)
        print(f"saved the model to {arguments.save_model}", flush=True)
    return 0


def _generate(arguments: argparse.Namespace) -> int:
    """Print the top-k next tokens after the prompt (one per line: token, tab, probability), then the
    continuation. Every problem with the arguments or the model file is one line and exit code 2."""
    if arguments.top_k < 1:
        _fail(f"--top-k must be at least 1, not {arguments.top_k}", code=2)
    if arguments.length < 0:
        _fail(f"--length must be 0 or more tokens, not {arguments.length}", code=2)
    if not math.isfinite(arguments.temperature) or arguments.temperature < 0:
        _fail(f"--temperature must be 0 or more (0 always takes the most likely token), not {arguments.temperature}",
              code=2)
    if not arguments.prompt.strip():
        _fail("--prompt is empty; give the text the model reads first, e.g. --prompt 'The cat sat on the'", code=2)
    if not arguments.model.is_file():
        _fail(f"there is no model file at {arguments.model}; save one with train --task text --save-model FILE.keras",
              code=2)
    with _quiet_native_stderr():
        from rnnlab import generate, saving  # start-up time: TensorFlow, only once the model file exists
    try:
        saved = saving.load_model(arguments.model)
    except ValueError as error:
        _fail(str(error), code=2)
    if not saved.is_text:
        _fail(f"{arguments.model} is not a text model (it has no vocabulary); generate needs a model saved with "
              "train --task text --save-model", code=2)
    try:
        probabilities = generate.next_token_distribution(saved.model, saved.vocabulary, arguments.prompt)
        result = generate.generate(saved.model, saved.vocabulary, arguments.prompt, length=arguments.length,
                                   temperature=arguments.temperature, seed=arguments.seed)
    except ValueError as error:
        _fail(str(error), code=2)
    for token, probability in generate.top_k(probabilities, min(arguments.top_k, len(saved.vocabulary))):
        print(f"{saved.vocabulary.label(token)}\t{probability:.4f}")
    print(saved.vocabulary.decode(result.tokens), flush=True)  # the continuation, as the model wrote it
    return 0


def _epoch_printer(training):
    class EpochPrinter(training.TrainerCallback):
        """Prints one line per finished epoch: its number, every metric Keras reported, and its duration."""

        def on_epoch_end(self, record) -> None:
            metrics = "  ".join(f"{key} {values[-1]:.4f}" for key, values in record.history.items())
            print(f"epoch {record.epochs_done:>3}/{record.config.epochs}  {metrics}  "
                  f"({record.epoch_seconds[-1]:.1f} s)", flush=True)
            if record.generated:  # text generation: what the network writes now, on one line
                print("    " + " ⏎ ".join(record.generated[-1].splitlines()), flush=True)

    return EpochPrinter()


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what TensorFlow's C++ core prints while it loads; it ignores TF_CPP_MIN_LOG_LEVEL at that point."""
    try:
        saved = os.dup(2)
    except OSError:  # No real stderr (embedded interpreters): nothing to silence.
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
