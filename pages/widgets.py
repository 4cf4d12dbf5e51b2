"""Sidebar controls that return a `RunConfig`. Labels, help texts and limits come from the config's own fields.

Streamlit forgets a widget's state when a page that does not draw it runs, so each widget is re-seeded from the
stored configuration whenever it has no state of its own: a learner's settings survive switching pages.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from pages import session
from rnnlab.config import CHOICE_TITLES, RunConfig, TASK_DEFAULTS, defaults_for_task, field_info, read_link
from rnnlab.data import get_task
from rnnlab.data.synthetic import SYNTHETIC_TASKS as _SYNTHETIC

SYNTHETIC_TASKS = tuple(_SYNTHETIC)
_FLOAT_FORMATS = {"learning_rate": "%.5f", "clipnorm": "%.2f", "recurrent_gain": "%.2f", "forget_bias": "%.2f"}
_FLOAT_STEPS = {"learning_rate": 0.0005, "clipnorm": 0.5, "recurrent_gain": 0.1, "forget_bias": 0.5}


def reload_widgets(prefix: str = "cfg") -> None:
    """Make the next `config_ui` call take every value from the stored config (after a preset was loaded)."""
    st.session_state[f"{prefix}__reload"] = True


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
    st.session_state[f"{prefix}_config"] = config
    reload_widgets(prefix)
    st.switch_page(script)


def linked_config(task: str, prefix: str) -> None:
    """On a page of its own task, take the settings of a shared link (`/next_word?task=text&level=char`, a lesson's
    preset) the first time the page opens in a session, else the task's defaults; a warning names bad values."""
    if f"{prefix}_config" in st.session_state:
        return
    link = st.query_params.to_dict()
    if link.get("task") == task:
        linked, errors = read_link(link)
        st.session_state[f"{prefix}_config"] = linked
        if errors:
            st.warning("Some of the link's settings were not used, and their defaults stand in: " + " ".join(errors))
    else:
        st.session_state[f"{prefix}_config"] = defaults_for_task(task)


def config_ui(stored: RunConfig, *, prefix: str = "cfg", tasks: tuple[str, ...] = SYNTHETIC_TASKS,
              imdb_fields: bool = False, data_fields: tuple[str, ...] = ()) -> RunConfig:
    """Draw every knob in the sidebar and return the configuration they describe (or `stored` if it is invalid).

    `data_fields` names further data settings a page's task uses (text: the level, vocabulary and embedding sizes),
    drawn under Data as a choice or a number by what the field is."""
    key = lambda name: f"{prefix}_{name}"  # noqa: E731 - a one-line naming rule
    reload = st.session_state.pop(f"{prefix}__reload", False)
    for name, value in stored.to_dict().items():
        if reload or key(name) not in st.session_state:
            st.session_state[key(name)] = value
    task = lambda: get_task(st.session_state[key("task")])  # noqa: E731 - the task picked now

    def number(name: str, container=st) -> None:
        info = field_info(name)
        label = task().field_label(name, info["label"])  # "Training reviews" for IMDB, not "Training sequences"
        if info["type"] is int:
            container.number_input(label, min_value=int(info["low"]), max_value=int(info["high"]), step=1,
                                   key=key(name), help=info["help"])
        else:
            container.number_input(label, min_value=float(info["low"]), max_value=float(info["high"]),
                                   step=_FLOAT_STEPS.get(name, 0.1), format=_FLOAT_FORMATS.get(name, "%.2f"),
                                   key=key(name), help=info["help"])

    def choice(name: str, options, container=st, **extra) -> None:
        info = field_info(name)
        extra.setdefault("format_func", lambda value: CHOICE_TITLES.get(value, value))
        container.selectbox(info["label"], options, key=key(name), help=info["help"], **extra)

    def apply_task_defaults() -> None:
        for name, value in TASK_DEFAULTS[st.session_state[key("task")]].items():
            st.session_state[key(name)] = value

    with st.sidebar:
        st.subheader("Data")
        if len(tasks) > 1:
            choice("task", tasks, format_func=lambda name: get_task(name).title, on_change=apply_task_defaults)
            st.caption(task().description)
        else:
            st.session_state[key("task")] = tasks[0]
        number("seq_len")
        number("samples")
        number("eval_samples")
        if imdb_fields:
            number("vocab_size")
            number("embedding_dim")
        for name in data_fields:
            if field_info(name)["choices"]:
                choice(name, field_info(name)["choices"])
            else:
                number(name)

        st.subheader("Network")
        info = field_info("cell")
        st.radio(info["label"], info["choices"], key=key("cell"), horizontal=True, help=info["help"],
                 format_func=CHOICE_TITLES.get)
        number("units")
        info = field_info("layers")
        st.slider(info["label"], int(info["low"]), int(info["high"]), key=key("layers"), help=info["help"])
        info = field_info("bidirectional")
        st.toggle(info["label"], key=key("bidirectional"), help=info["help"])
        info = field_info("activation")
        st.radio(info["label"], info["choices"], key=key("activation"), horizontal=True, help=info["help"])
        info = field_info("dropout")
        st.slider(info["label"], 0.0, float(info["high"]), step=0.05, key=key("dropout"), help=info["help"])

        st.subheader("Training")
        choice("optimizer", field_info("optimizer")["choices"])
        number("learning_rate")
        number("batch_size")
        number("epochs")
        number("seed")
        with st.expander("Initialisation and clipping"):
            choice("recurrent_initializer", field_info("recurrent_initializer")["choices"])
            number("recurrent_gain")
            if st.session_state[key("cell")] == "lstm":
                number("forget_bias")
            number("clipnorm")

    # A widget that was not drawn this time (the forget bias for a GRU) has no state: keep the stored value.
    values = {spec.name: st.session_state.get(key(spec.name), getattr(stored, spec.name))
              for spec in dataclasses.fields(RunConfig)}
    try:
        return RunConfig(**values)
    except ValueError as error:
        st.sidebar.error(str(error))
        return stored
