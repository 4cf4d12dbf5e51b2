"""Sidebar controls that return a `RunConfig`, and the one way every widget of the app keeps its value.

One idiom, so nothing a learner sees depends on a race between the browser and the server:
- A widget gets its value from stored state through `value=` / `index=`: the sidebar's from the page's stored
  `RunConfig` (`session.stored_config`, the one source of truth), every other widget from the page's small kept
  state (`kept`). A number box drawn without `value=` starts in the browser at its minimum, and a value written only
  into session state reaches the browser once: a redraw racing the first one showed (and a click sent back) sequence
  length 2 and 16 training sequences. With `value=`, every message the browser gets carries the true value.
- Session state is written under a widget's key only where the stored value changed behind the widget's back (a
  preset loaded, a task's defaults, sizes fitted to a file, a choice no longer among the options), always before the
  widget is drawn and together with the same `value=`.
- Streamlit forgets a widget's state while another page runs; `value=` from the stored state brings it back.
"""

from __future__ import annotations

import streamlit as st

from pages import session
from rnnlab import curves
from rnnlab.config import CHOICE_TITLES, RunConfig, LEVEL_DEFAULTS, TASK_DEFAULTS, field_info
from rnnlab.data import get_task
from rnnlab.data.synthetic import SYNTHETIC_TASKS as _SYNTHETIC

SYNTHETIC_TASKS = tuple(_SYNTHETIC)
_FLOAT_FORMATS = {"learning_rate": "%.5f", "clipnorm": "%.2f", "recurrent_gain": "%.2f", "forget_bias": "%.2f"}
_FLOAT_STEPS = {"learning_rate": 0.0005, "clipnorm": 0.5, "recurrent_gain": 0.1, "forget_bias": 0.5}


def reload_widgets(prefix: str = "cfg") -> None:
    """Make the next `config_ui` call put every value of the stored config into its widgets (after a preset was
    loaded, or sizes fitted to a file)."""
    st.session_state[f"{prefix}__reload"] = True


# The page-local widgets' last values ({widget key: value}); the sidebar's live in the stored RunConfig.
KEPT = "kept_widgets"


def kept(widget, label: str, *, key: str, default, options: list | None = None, **kwargs):
    """Draw `widget` (`st.slider`, `st.selectbox`, ...) with the learner's last value for `key`, else `default`,
    through `value=` (or `index=` among `options`), and keep what it returns.

    A last value that is no longer allowed (a layer of another run, a step past a shorter example) falls back to
    `default` (or the first option), or to the nearest end of `min_value`..`max_value`.
    """
    memory = st.session_state.setdefault(KEPT, {})
    value = st.session_state[key] if key in st.session_state else memory.get(key, default)
    if options is not None:
        options = list(options)
        if value not in options:
            value = default if default in options else options[0]
    else:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
    if key in st.session_state and st.session_state[key] != value:
        st.session_state[key] = value  # its own state is no longer allowed: corrected before it is drawn
    if options is not None:
        result = widget(label, options, index=options.index(value), key=key, **kwargs)
    else:
        result = widget(label, value=value, key=key, **kwargs)
    memory[key] = result
    return result


def remembered(key: str, default=None):
    """A page's kept value that no widget draws (an uploaded file's name and where it is kept)."""
    return st.session_state.setdefault(KEPT, {}).get(key, default)


def remember(key: str, value) -> None:
    memory = st.session_state.setdefault(KEPT, {})
    if value is None:
        memory.pop(key, None)
    else:
        memory[key] = value


def open_in_build_train(config: RunConfig) -> None:
    """Load `config` into Build & Train's sidebar and go there (a lesson's or a page's preset)."""
    session.set_config(config)
    reload_widgets()
    st.switch_page("pages/build_train.py")


# The page that trains each task, when it is not Build & Train (whose sidebar offers the synthetic tasks only):
# (its URL path, its script, the prefix of its own configuration in session state: `imdb_config`, `text_config`).
PRESET_PAGES = {"imdb": ("imdb", "pages/imdb.py", "imdb"), "text": ("next_word", "pages/next_word.py", "text")}


def preset_page(config: RunConfig) -> str:
    """The URL path of the page that trains `config` ("" for Build & Train, "imdb", "next_word")."""
    return PRESET_PAGES.get(config.task, ("", "", ""))[0]


def open_preset(config: RunConfig) -> None:
    """Open a lesson's preset on the page that can train it, with its settings in that page's sidebar: an IMDB
    preset on IMDB sentiment, a text preset on Next word, every other task on Build & Train."""
    if config.task not in PRESET_PAGES:
        open_in_build_train(config)
        return
    _, script, prefix = PRESET_PAGES[config.task]
    session.set_config(config, prefix)
    reload_widgets(prefix)
    st.switch_page(script)


def config_ui(stored: RunConfig, *, prefix: str = "cfg", tasks: tuple[str, ...] = SYNTHETIC_TASKS,
              imdb_fields: bool = False, data_fields: tuple[str, ...] = ()) -> RunConfig:
    """Draw every knob in the sidebar and return the configuration they describe (or `stored` if it is invalid).

    `data_fields` names further data settings a page's task uses (text: the level, vocabulary and embedding sizes),
    drawn under Data as a choice or a number by what the field is."""
    key = lambda name: f"{prefix}_{name}"  # noqa: E731 - a one-line naming rule
    if st.session_state.pop(f"{prefix}__reload", False):
        push(stored, prefix)  # the stored config changed behind the widgets (a preset): seed them, once
    values: dict = {}  # what each widget drawn this time returns

    def number(name: str, container=st) -> None:
        info = field_info(name)
        label = get_task(values["task"]).field_label(name, info["label"])  # "Training reviews" for IMDB
        if info["type"] is int:
            values[name] = container.number_input(
                label, min_value=int(info["low"]), max_value=int(info["high"]), value=int(getattr(stored, name)),
                step=1, key=key(name), help=info["help"])
        else:
            values[name] = container.number_input(
                label, min_value=float(info["low"]), max_value=float(info["high"]),
                value=float(getattr(stored, name)), step=_FLOAT_STEPS.get(name, 0.1),
                format=_FLOAT_FORMATS.get(name, "%.2f"), key=key(name), help=info["help"])

    def choice(name: str, options, container=st, widget=None, **extra) -> None:
        info = field_info(name)
        options = list(options)
        extra.setdefault("format_func", lambda value: CHOICE_TITLES.get(value, value))
        current = getattr(stored, name)
        values[name] = (widget or container.selectbox)(
            info["label"], options, index=options.index(current) if current in options else 0, key=key(name),
            help=info["help"], **extra)

    def apply_task_defaults() -> None:
        # The stored config takes the new task's defaults (the one source of truth), then its widgets are seeded.
        task_now = st.session_state[key("task")]
        changed = session.stored_config(prefix).replace(task=task_now, **TASK_DEFAULTS[task_now])
        session.set_config(changed, prefix)
        push(changed, prefix)

    def apply_level_defaults() -> None:
        # Characters and words read windows of their own length (`LEVEL_DEFAULTS`), stored first, then seeded.
        level_now = st.session_state[key("level")]
        changed = session.stored_config(prefix).replace(level=level_now, **LEVEL_DEFAULTS[level_now])
        session.set_config(changed, prefix)
        push(changed, prefix)

    with st.sidebar:
        st.subheader("Data")
        if len(tasks) > 1:
            choice("task", tasks, format_func=lambda name: get_task(name).title, on_change=apply_task_defaults)
            st.caption(get_task(values["task"]).description)
        else:
            values["task"] = tasks[0]
        number("seq_len")
        number("samples")
        number("eval_samples")
        if imdb_fields:
            number("vocab_size")
            number("embedding_dim")
        for name in data_fields:
            if field_info(name)["choices"]:
                choice(name, field_info(name)["choices"], on_change=apply_level_defaults if name == "level" else None)
            else:
                number(name)

        st.subheader("Network")
        info = field_info("cell")
        choice("cell", info["choices"], widget=st.radio, horizontal=True, format_func=CHOICE_TITLES.get)
        number("units")
        info = field_info("layers")
        values["layers"] = st.slider(info["label"], int(info["low"]), int(info["high"]), value=stored.layers,
                                     key=key("layers"), help=info["help"])
        info = field_info("bidirectional")
        values["bidirectional"] = st.toggle(info["label"], value=stored.bidirectional, key=key("bidirectional"),
                                            help=info["help"])
        choice("activation", field_info("activation")["choices"], widget=st.radio, horizontal=True,
               format_func=str)
        info = field_info("dropout")
        values["dropout"] = st.slider(info["label"], 0.0, float(info["high"]), value=float(stored.dropout),
                                      step=0.05, key=key("dropout"), help=info["help"])

        st.subheader("Training")
        choice("optimizer", field_info("optimizer")["choices"])
        number("learning_rate")
        number("batch_size")
        number("epochs")
        number("seed")
        with st.expander("Initialisation and clipping"):
            choice("recurrent_initializer", field_info("recurrent_initializer")["choices"])
            number("recurrent_gain")
            if values["cell"] == "lstm":
                number("forget_bias")
            number("clipnorm")

    # A widget that was not drawn this time (the forget bias for a GRU) keeps the stored value.
    try:
        return stored.replace(**values)
    except ValueError as error:
        st.sidebar.error(str(error))
        return stored


def push(config: RunConfig, prefix: str = "cfg") -> None:
    """Write `config`'s values under its widgets' keys, before they are drawn: for a change the widgets did not
    make (a preset, a task's defaults, sizes fitted to a file). Each widget is drawn with the same `value=`."""
    for name, value in config.to_dict().items():
        st.session_state[f"{prefix}_{name}"] = value


def curve_controls(prefix: str) -> tuple[float, bool, str]:
    """The run trackers' controls of a chart of curves (Compare runs, Class): smoothing (0 is off), grouping runs
    that differ only in their seed, and the group's band; each keeps its value (`kept`). Returns (smoothing,
    by_seed, band), the arguments of `rnnlab.plots.runs.compare_figure` and `rnnlab.plots.classroom.class_figure`."""
    columns = st.columns([2, 2, 2])
    smoothing = kept(columns[0].slider, "Smoothing", key=f"{prefix}_smoothing", default=0.0, min_value=0.0,
                     max_value=0.95, step=0.05,
                     help="A time-weighted moving average of each curve, as TensorBoard's and W&B's smoothing "
                          "slider: each point is a weighted mean of the points before it, the weight falling by "
                          "this factor per epoch. 0 is off; the raw curve stays faint behind the smoothed one.")
    grouping = kept(columns[1].radio, "Group by", key=f"{prefix}_group", default="run", options=list(GROUPINGS),
                    format_func=GROUPINGS.get, horizontal=True,
                    help="Seed: runs with the same settings but for their seed are drawn as one curve, their mean, "
                         "with a band, over the epochs every one of them has.")
    band = kept(columns[2].radio, "Band", key=f"{prefix}_band", default="minmax", options=list(curves.BANDS),
                format_func=curves.BANDS.get, horizontal=True, disabled=grouping != "seed",
                help="Min–max spans the lowest and highest run of the group at each epoch; ± standard error is the "
                     "mean ± s/√n, how far the mean itself is likely off.")
    return smoothing, grouping == "seed", band


# What the curves of a chart can be grouped by.
GROUPINGS = {"run": "each run", "seed": "seed"}
