"""IMDB sentiment: train a recurrent network on real movie reviews, then watch it read a review of your own.

Layout and widgets only: the reviews and the sizes that fit them come from `rnnlab.data.imdb`, predictions and
word-by-word traces from `rnnlab.sentiment`, and training runs as a background job from `pages.session`, exactly
as on Build & Train. This page keeps its own configuration (`imdb_config`) apart from Build & Train's.

Files: a learner uploads a CSV; paths on the server are read only inside the folder the person running the server
names with RNNLAB_DATA_DIR (`rnnlab.data.files`), and the npz that RNNLAB_IMDB_PATH names.
"""

import streamlit as st

from pages import progress, session, widgets
from rnnlab import sentiment, settings
from rnnlab.data import DataError, DownloadUnavailable, files, imdb
from rnnlab.data.imdb import ENV_VAR
from rnnlab.lab import BudgetError, UploadError, get_lab
from rnnlab.plots import runs as run_plots
from rnnlab.plots import sentiment as sentiment_plots

DEFAULT_REVIEW = "This movie was not bad at all."
# A typed review longer than this is not read: the model reads its last few hundred words anyway.
MAX_REVIEW_CHARS = 5_000

st.title("IMDB sentiment")
st.caption("Train a recurrent network to read movie reviews and say whether each one is positive or negative. "
           "Then type a review of your own and watch the network's opinion move, word by word.")


def forget_upload() -> None:
    if st.session_state.get("imdb_upload") is None:  # the learner removed the file, not just left the page
        widgets.remember("imdb_uploaded", None)


def server_path_ui(label: str, key: str, default: str = "") -> str:
    """A path on the server, if the server allows any: inside RNNLAB_DATA_DIR only ("" when none is given)."""
    folder = files.data_dir()
    if folder is None:
        return ""
    typed = widgets.kept(st.text_input, f"{label} (inside the server's data folder)", key=key, default=default,
                         max_chars=1000,
                         help=f"The person running this server made {folder} readable; paths are relative to it.")
    if not typed.strip():
        return ""
    try:
        return files.server_path(typed)
    except DataError as error:
        st.error(str(error))
        return ""


def data_path(source: str) -> str:
    """Draw the inputs for a local source and return the file to read ("" for Keras's data or none given)."""
    if source == "npz":
        path = server_path_ui("Path of imdb.npz", "imdb_npz_path")
        if path:
            return path
        if settings.current().imdb_path:
            st.caption("Using the imdb.npz this server was started with.")
            return settings.current().imdb_path
        if files.data_dir() is None:
            st.info(f"This server has no imdb.npz (its administrator can set {ENV_VAR} or a data folder, "
                    f"{files.DATA_DIR_VAR}); upload a CSV of reviews instead.")
        return ""
    if source != "csv":
        return ""
    upload = st.file_uploader("Upload a CSV of reviews (a review column and a sentiment column)",
                              type=["csv", "gz", "bz2", "zip", "xz"], key="imdb_upload", on_change=forget_upload)
    typed = server_path_ui("…or the path of a CSV", "imdb_csv_path")
    if upload is not None:
        # Kept by the lab, so the run record can name the file the model trained on.
        try:
            widgets.remember("imdb_uploaded", (upload.name, get_lab().take_upload(session.token(), upload.name,
                                                                                  upload.getvalue())))
        except UploadError as error:
            st.error(str(error))
    if typed:
        return typed
    uploaded = widgets.remembered("imdb_uploaded")
    if uploaded is not None:
        st.caption(f"Using the uploaded file **{uploaded[0]}**.")
        return uploaded[1]
    return ""


def reviews_ui(config):
    """The data source chooser; returns the configuration (sized to fit the data) and its Dataset, or None."""
    source = widgets.kept(st.radio, "Where the reviews come from", key="imdb_source",
                          default="npz" if settings.current().imdb_path else "keras", options=list(imdb.SOURCES),
                          format_func=imdb.SOURCES.get, horizontal=True)
    path = data_path(source)
    config = imdb.source_config(config, source, path)
    session.set_config(config, "imdb")
    if source != "keras" and not path:
        st.info("Give a file to read the reviews from, or choose Keras's IMDB.")
        return config, None
    if source == "keras" and not imdb.keras_cached() and not st.session_state.get("imdb_download_asked"):
        # Nothing is fetched until the learner asks: offline, an automatic download is only a failure to read.
        st.info(f"Keras's IMDB reviews are not on this server yet (they would be cached at "
                f"{imdb.keras_cache_path()}). Download them, or choose a local file or a CSV above.")
        if st.button("Download Keras's IMDB", key="imdb_download"):
            st.session_state["imdb_download_asked"] = True
            st.rerun()
        return config, None

    try:
        available = session.cached("imdb_counts", (source, path, files.file_stamp(path)),
                                   lambda: get_lab().count_reviews(source, path), limit=8,
                                   spinner="Counting the reviews…", remember=(DataError,))
        if available is not None:
            fitted, note = imdb.fit_sizes(config, *available)
            if fitted != config:  # too many reviews asked for: store the sizes that fit and redraw the sidebar
                session.set_config(fitted, "imdb")
                st.session_state["imdb_fit_note"] = note
                widgets.reload_widgets("imdb")
                st.rerun()
        key = imdb.data_key(config, source)
        # Loading is cached per data settings in this session (Keras's file takes seconds to read), and so is a
        # failure, so an offline learner is not made to wait for the download again at every click.
        # Costed first: a run that could not train here is refused before a review is read (BudgetError).
        dataset = session.cached("imdb_datasets", key, lambda: get_lab().read_reviews(config, source), limit=3,
                                 spinner="Reading the reviews…", remember=(DataError, BudgetError))
    except DownloadUnavailable as error:
        st.error(error.sentence("app"))
        if st.button("Try the download again", key="imdb_retry"):
            session.forget("imdb_datasets", imdb.data_key(config, source))
            st.rerun()
        return config, None
    except (DataError, BudgetError) as error:
        st.error(str(error))
        return config, None
    note = st.session_state.pop("imdb_fit_note", None)
    if note:
        st.info(note)
    st.caption(f"From {dataset.source}: {len(dataset.x_train):,} training, {len(dataset.x_val):,} validation and "
               f"{len(dataset.x_test):,} test reviews, each cut to its last {dataset.seq_len} words, with a "
               f"vocabulary of {dataset.vocab_size:,} words.")
    return config, dataset


def cost_ui(config, dataset):
    """What training will cost, before it starts: the parameters, and the memory and time the budget estimates.
    Returns the verdict, so Train is refused for a run that cannot fit."""
    rows = get_lab().parameters(config, dataset)
    st.metric("Trainable parameters", f"{sum(row['parameters'] for row in rows):,}",
              help="Closed-form count; most of it is the embedding, one vector per vocabulary word.")
    estimate, verdict = session.plan(config)
    progress.draw_cost(estimate, verdict)
    with st.expander("Where the parameters come from"):
        st.table(rows)
    return verdict


def shown_job():
    """The IMDB run this page shows: the one started here last, else the newest IMDB run of this session."""
    runs = session.runs()
    job = runs.get(st.session_state.get("imdb_shown"))
    return job or next((job for job in reversed(runs.values()) if job.config.task == "imdb"), None)


def results_ui(job) -> None:
    record, dataset = job.record, job.dataset
    st.subheader("How it does on the test reviews")
    probabilities = session.cached("imdb_predictions", job.run_id,
                                   lambda: sentiment.predict_probabilities(job.model, dataset.x_test),
                                   spinner="Reading the test reviews…")
    matrix = sentiment.confusion_matrix(dataset.y_test, probabilities)
    columns = st.columns(3)
    accuracy = record.test_accuracy if record.test_accuracy is not None else matrix.trace() / matrix.sum()
    columns[0].metric("Test accuracy", f"{accuracy:.1%}",
                      help="Share of held-out test reviews classified correctly; guessing gets about 50%.")
    columns[1].metric("Test reviews", f"{matrix.sum():,}")
    columns[2].metric("Mistakes", f"{matrix.sum() - matrix.trace():,}")
    left, right = st.columns([2, 3], gap="large")
    left.plotly_chart(run_plots.confusion_figure(matrix, dataset.class_names, "test reviews", height=360),
                      width="stretch", key=f"imdb_confusion_{job.run_id}")
    with right:
        table = session.cached("imdb_tables", job.run_id, lambda: sentiment.review_table(dataset, probabilities))
        mistakes_only = widgets.kept(st.toggle, "Only the mistakes", key="imdb_mistakes_only", default=False)
        shown = table[~table["correct"]] if mistakes_only else table
        # The review takes what the other columns leave; P(positive), the verdict and the truth stay in view.
        st.dataframe(shown, hide_index=True, width="stretch", height=320,
                     column_order=["P(positive)", "verdict", "truth", "correct", "review"], column_config={
                         "review": st.column_config.TextColumn("review, as the model reads it", width="large"),
                         "P(positive)": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f",
                                                                        width="small"),
                         "verdict": st.column_config.TextColumn(width="small"),
                         "truth": st.column_config.TextColumn(width="small"),
                         "correct": st.column_config.CheckboxColumn(width="small"),
                     })
        st.caption(f"{len(shown):,} of {len(table):,} test reviews. Each shows its last {dataset.seq_len} words, the "
                   "part the model reads; words outside the vocabulary show as [UNK].")


def select(label: str, options: list[str], key: str, default: str, **extra) -> str:
    """A selectbox whose remembered choice falls back to `default` when the options change (another run)."""
    return widgets.kept(st.selectbox, label, key=key, default=default, options=options, **extra)


def own_review_ui(job) -> None:
    st.subheader("Your own review")
    text = widgets.kept(st.text_area, "Type a review", key="imdb_own_review", default=DEFAULT_REVIEW, height=90,
                        max_chars=MAX_REVIEW_CHARS)
    try:
        word_trace = session.cached("imdb_traces", (job.run_id, text),
                                    lambda: sentiment.word_trace(job.model, job.dataset, text), limit=8,
                                    remember=(DataError,))
    except DataError as error:
        st.info(str(error))
        return
    columns = st.columns(3)
    columns[0].metric("The model says", word_trace.verdict, help="P(positive) above 0.5 reads as positive.")
    columns[1].metric("P(positive)", f"{word_trace.probability:.3f}")
    columns[2].metric("Words it knows", f"{word_trace.known_words} of {len(word_trace.words)}",
                      help="Words outside its vocabulary all read as the same [UNK] token.")
    if word_trace.known_words == 0:
        st.warning("The model knows none of these words: it read only [UNK] tokens, so its verdict says nothing "
                   "about this review. Use words from the reviews it trained on.")
    st.caption("As the model reads it: " + " ".join(word_trace.words))
    st.plotly_chart(sentiment_plots.opinion_figure(word_trace.words, word_trace.probabilities), width="stretch",
                    key=f"imdb_opinion_{job.run_id}")
    columns = st.columns(3)
    with columns[0]:
        layers = list(word_trace.gates)
        layer = select("Layer", layers, "imdb_layer", layers[0])
    with columns[1]:
        directions = list(word_trace.gates[layer])
        direction = select("Direction", directions, "imdb_direction", directions[0],
                           disabled=len(directions) == 1)
    with columns[2]:
        gates = list(word_trace.gates[layer][direction])
        gate = select("Gate", gates, "imdb_gate", sentiment.first_gate(job.config.cell, gates))
    st.plotly_chart(sentiment_plots.gate_heatmap(word_trace.words, word_trace.gates[layer][direction][gate], gate,
                                                  layer, direction), width="stretch", key=f"imdb_gates_{job.run_id}")
    st.caption("This shows what this model does, not what a sentiment model should do. Trained on a few thousand "
               "reviews, a network often never learns that \"not\" turns \"bad\" around: on 1,500 sample reviews, "
               "\"not bad at all\" still scored about 0.15 after 4 epochs. Each point of the curve is the model's "
               "verdict on the review cut after that word; the gates are read while it reads the whole review.")


stored = session.stored_config("imdb")  # a shared link such as /imdb?task=imdb&cell=gru opens with its settings
warning = session.pop_config_warning("imdb")
if warning:
    st.warning(warning)
config = widgets.config_ui(stored, prefix="imdb", tasks=("imdb",), imdb_fields=True)

st.subheader("The reviews")
config, dataset = reviews_ui(config)
verdict = cost_ui(config, dataset) if dataset is not None else None

st.subheader("Training")
buttons = st.columns([1, 1, 3])
active = progress.train_button(buttons[0], "imdb_train", "imdb_shown", config, dataset,
                               off="Choose the reviews first." if dataset is None else
                               "These settings do not fit this server: change what the sentence above names."
                               if verdict.level == "refuse" else None)
if buttons[1].button("Stop", disabled=active is None, width="stretch", key="imdb_stop"):
    session.stop_all()
if active is not None and active.config.task != "imdb":
    buttons[2].caption("A run from another page is training; this page can train when it ends.")

job = shown_job()
if job is None:
    if dataset is not None:  # "Press Train" only where Train can be pressed
        st.info("Press **Train** to train this network on the reviews. The loss curve appears after the first "
                "batches.")
    st.stop()


def live_panel() -> None:
    record = job.record.snapshot()
    name = session.names().get(record.run_id, record.name)
    st.markdown(f"**{name}** · {len(job.dataset.x_train):,} training reviews" if job.dataset is not None
                else f"**{name}**")
    progress.pause_controls(job, "imdb")
    progress.draw_progress(record, "reviews", job)
    columns = st.columns(2)
    columns[0].plotly_chart(run_plots.loss_figure([record]), width="stretch", key=f"imdb_loss_{record.run_id}")
    columns[1].plotly_chart(run_plots.accuracy_figure([record]), width="stretch",
                            key=f"imdb_accuracy_{record.run_id}")


progress.live([job], "imdb_settled", live_panel)  # then the results below appear
if job.done and job.model is not None and job.record.epochs_done:
    results_ui(job)
    own_review_ui(job)
