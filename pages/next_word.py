"""Next word: train a recurrent network to predict the next word (or character) of a text, watch it learn to write,
ask it what comes after "The cat sat on the", let it write step by step, and look at what its hidden state learned.

Layout and widgets only: the text and its windows come from `rnnlab.data.text`, the next-token distribution and the
sampler from `rnnlab.generate`, the gates from `rnnlab.introspect`, Elman's map from `rnnlab.introspect.word_map`,
its sentences from `rnnlab.explain`, the figures from `rnnlab.plots`; training runs as a background job from
`pages.session`, as on the other pages. This page keeps its own configuration (`text_config`).

Files: a learner uploads a .txt file; paths on the server are read only inside the folder the person running the
server names with RNNLAB_DATA_DIR (`rnnlab.data.files`). The IMDB reviews come from the source set on the IMDB
sentiment page, else RNNLAB_IMDB_PATH, else Keras's cache.
"""


import streamlit as st

from pages import progress, session, widgets
from rnnlab import explain, generate
from rnnlab.config import CHOICE_TITLES, CORPORA
from rnnlab.data import DataError, DownloadUnavailable, files, imdb
from rnnlab.data import text as text_data
from rnnlab.introspect import recurrent_layer_names, trace, word_map
from rnnlab.introspect.steps import layer_kind
from rnnlab.lab import BudgetError, UploadError, get_lab
from rnnlab.pausing import pause_position
from rnnlab.plots import cell as cell_plots
from rnnlab.plots import runs as run_plots
from rnnlab.plots import text as text_plots

CORPUS_NOTES = {
    "grammar": "Short sentences of a toy language in the manner of Elman (1990), made from the seed: animals, "
               "people, food, objects and places, and verbs that take some of them and not others (a dog can chase "
               "a girl; a cup cannot). Every word has a kind, so the map at the bottom can show whether the network "
               "found the kinds.",
    "shakespeare": "tiny-shakespeare: about 1.1 MB of Shakespeare's plays, downloaded once into the Keras cache. "
                   "Characters suit it best: set **Tokens** to Characters and the window to 100.",
    "imdb": "The IMDB movie reviews as one running text (one review per line, the first 1.1 MB), from the reviews "
            "chosen on the **IMDB sentiment** page (a CSV or an imdb.npz), else Keras's IMDB cache.",
    "file": "Any plain-text file: a book, lecture notes, code. Characters work for any text; words need enough text "
            "for each word to occur several times.",
}

st.title("Next word")
st.caption("“The cat sat on the ___”: train a recurrent network to predict the next word of a text, watch what it "
           "writes after each epoch, then ask it what comes next and look inside.")
# A prompt longer than the longest window a run reads (2,000 tokens) is not read in full: the box stops there.
MAX_PROMPT_CHARS = 2_000


def forget_upload() -> None:
    if st.session_state.get("text_upload") is None:  # the learner removed the file, not just left the page
        widgets.remember("text_uploaded", None)


def file_ui(current: str = "") -> str:
    """An uploaded .txt file, or a path inside the server's data folder; "" when none is given. `current` is the file
    the stored configuration names (a reopened link's run): kept while nothing else is given."""
    upload = st.file_uploader("Upload a text file (.txt)", type=["txt"], key="text_upload", on_change=forget_upload)
    if upload is not None:
        # Kept by the lab, so the run record can name the file the model trained on.
        try:
            widgets.remember("text_uploaded", (upload.name, get_lab().take_upload(session.token(), upload.name,
                                                                                  upload.getvalue())))
        except UploadError as error:
            st.error(str(error))
    folder = files.data_dir()
    if folder is not None:
        typed = widgets.kept(st.text_input, "…or the path of a .txt file (inside the server's data folder)",
                             key="text_file_path", default="", max_chars=1000,
                             help=f"The person running this server made {folder} readable; paths are relative to "
                                  "it.")
        if typed.strip():
            try:
                return files.server_path(typed)
            except DataError as error:
                st.error(str(error))
                return ""
    uploaded = widgets.remembered("text_uploaded")
    if uploaded is not None:
        st.caption(f"Using the uploaded file **{uploaded[0]}**.")
        return uploaded[1]
    if current and files.resolve_upload(current) is not None:
        st.caption(f"Using the uploaded file **{files.display_name(current)}**.")
        return current
    return ""


def imdb_source_ui(config):
    """`config` naming the IMDB source the learner already has, or None (with a line saying what to do)."""
    chosen = st.session_state.get("imdb_config")
    csv, npz = (chosen.imdb_csv.strip(), chosen.imdb_path.strip()) if chosen is not None else ("", "")
    config = config.replace(imdb_csv=csv, imdb_path="" if csv else npz)
    source = imdb.source_of(config)
    if source == "keras" and not imdb.keras_cached():
        st.info(f"No IMDB reviews are set: choose a CSV or an imdb.npz on the **IMDB sentiment** page (or download "
                f"Keras's IMDB there, which caches it at {imdb.keras_cache_path()}), then come back.")
        return None
    where = {"csv": f"the CSV {files.display_name(csv)}",
             "npz": f"the imdb.npz {files.display_name(npz)}" if npz else "the imdb.npz this server was started with",
             "keras": "Keras's IMDB cache"}[source]
    st.caption(f"The reviews come from {where}, as on the IMDB sentiment page.")
    return config


def text_ui(config):
    """The text chooser; returns the configuration naming the text, and its Dataset (or None, with a message)."""
    corpus = st.radio("Where the text comes from", CORPORA, index=CORPORA.index(config.corpus),
                      format_func=CHOICE_TITLES.get, horizontal=True, key="text_corpus")  # the config's `corpus`
    st.caption(CORPUS_NOTES[corpus])
    config = config.replace(corpus=corpus)
    if corpus == "file":
        config = config.replace(text_file=file_ui(config.text_file))
        if not config.text_file:
            session.set_config(config, "text")
            st.info("Upload a .txt file to train on it.")
            return config, None
    if corpus == "imdb":
        with_source = imdb_source_ui(config)
        if with_source is None:
            session.set_config(config, "text")
            return config, None
        config = with_source
    session.set_config(config, "text")
    if corpus == "shakespeare" and not text_data.shakespeare_cached() \
            and not st.session_state.get("text_download_asked"):
        # Nothing is fetched until the learner asks: offline, an automatic download is only a failure to read.
        st.info(f"tiny-shakespeare is not on this server yet (it would be cached at "
                f"{imdb.keras_cache_path(text_data.SHAKESPEARE_FILE)}). Download it, or choose another text above.")
        if st.button("Download tiny-shakespeare", key="text_download"):
            st.session_state["text_download_asked"] = True
            st.rerun()
        return config, None
    key = text_data.data_key(config)
    try:
        # Costed before a window is made (BudgetError), then read by the lab, once per text settings per session.
        dataset = session.cached("text_datasets", key, lambda: get_lab().read_text(config), limit=3,
                                 spinner="Reading the text…", remember=(DataError, BudgetError))
    except DownloadUnavailable as error:
        st.error(error.sentence("app"))
        if st.button("Try the download again", key="text_retry"):
            session.forget("text_datasets", key)
            st.rerun()
        return config, None
    except (DataError, BudgetError) as error:
        st.error(str(error))
        return config, None
    vocabulary = text_data.vocabulary_of(dataset)
    st.caption(f"From {dataset.source}. Training on {len(dataset.x_train):,} windows of {dataset.seq_len} "
               f"{vocabulary.unit}s from the first 90% of the text; {len(dataset.x_val):,} validation windows come "
               f"from the next 5%. Each window's targets are its {vocabulary.unit}s shifted by one.")
    with st.expander("A glimpse of the training text, as the network reads it"):
        st.code(vocabulary.decode(dataset.x_train[0]), language=None, wrap_lines=True)
    return config, dataset


def shown_job():
    """The text run this page shows: the one started here last, else the newest text run of this session."""
    runs = session.runs()
    job = runs.get(st.session_state.get("text_shown"))
    return job or next((job for job in reversed(runs.values()) if job.config.task == "text"), None)


def samples_ui(record) -> None:
    """What the network wrote after each epoch, newest first."""
    if not record.generated:
        return
    st.markdown(f"**What it writes after each epoch** (from the same prompt at temperature "
                f"{text_data.SAMPLE_TEMPERATURE:g}, newest first)")
    with st.container(height=320):
        for epoch in range(len(record.generated), 0, -1):
            st.caption(f"After epoch {epoch}")
            st.code(record.generated[epoch - 1], language=None, wrap_lines=True)


def next_token_ui(job, vocabulary) -> str | None:
    """The prompt box and the bars of the next token; returns the prompt (None if it cannot be read)."""
    st.subheader("What comes next?")
    columns = st.columns([3, 1])
    prompt = widgets.kept(columns[0].text_input, "Prompt", key="text_prompt",
                          default=text_data.default_prompt(job.dataset), max_chars=MAX_PROMPT_CHARS,
                          help="The network reads it from a fresh state, as it read each training window.")
    top = widgets.kept(columns[1].slider, "How many tokens to show", key="text_top_k", default=10, min_value=1,
                       max_value=30)
    try:
        probabilities = session.cached("text_next", (session.model_key(job), prompt),
                                       lambda: generate.next_token_distribution(job.model, vocabulary, prompt),
                                       limit=16, remember=(ValueError,))
    except ValueError as error:
        st.info(str(error))
        return None
    read = vocabulary.encode(prompt)
    unknown = int((read == 1).sum())
    st.plotly_chart(text_plots.next_token_figure(vocabulary, probabilities, top), width="stretch",
                    key=f"text_next_{job.run_id}")
    note = (f"The softmax of the trained network's output after it read “{vocabulary.decode(read)}” "
            f"({len(read)} {vocabulary.unit}s): a probability for each of the {len(vocabulary):,} tokens of its "
            f"vocabulary, together {probabilities.sum():.3f}.")
    if unknown:
        note += f" {unknown} of the {vocabulary.unit}s you typed are not in its vocabulary and read as [UNK]."
    st.caption(note)
    return prompt


def writing_ui(job, vocabulary, prompt: str) -> None:
    """Let the network write from the prompt, and show the distribution each step drew from."""
    st.subheader("Let it write")
    columns = st.columns(3)
    temperature = widgets.kept(columns[0].slider, "Temperature", key="text_temperature", default=0.8, min_value=0.0,
                               max_value=2.0, step=0.1,
                               help="Divides the logits before the softmax: below 1 favours the likely tokens, "
                                    "above 1 spreads the chances, 0 always takes the most likely one.")
    length = widgets.kept(columns[1].number_input, f"{vocabulary.unit.capitalize()}s to write",
                          key=f"text_length_{vocabulary.level}", default=text_data.SAMPLE_LENGTH[vocabulary.level],
                          min_value=1, max_value=500)
    seed = widgets.kept(columns[2].number_input, "Sampler seed", key="text_sampler_seed", default=0, min_value=0,
                        max_value=2**31 - 1, help="The same seed writes the same text.")
    result = session.cached("text_writing", (session.model_key(job), prompt, temperature, int(length),
                                             int(seed)),
                            lambda: generate.generate(job.model, vocabulary, prompt, length=int(length),
                                                      temperature=temperature, seed=int(seed)), limit=16)
    st.code(result.text, language=None, wrap_lines=True)
    st.caption(f"Your prompt, then {len(result.steps)} {vocabulary.unit}s drawn one at a time"
               + (" (temperature 0: always the most likely one)." if temperature == 0 else
                  f" at temperature {temperature:g} with seed {int(seed)}."))
    steps = len(result.steps)
    number = widgets.kept(st.slider, "Step", key="text_step", default=1, min_value=1, max_value=steps) \
        if steps > 1 else 1
    step = result.steps[number - 1]
    before = vocabulary.decode([*result.prompt_ids, *result.tokens[:number - 1]])  # the text the network had read
    chart, words = st.columns([3, 2])
    chart.plotly_chart(text_plots.next_token_figure(
        vocabulary, step.drawn_from, 10, chosen=step.token, model_probabilities=step.probabilities,
        title=f"Step {number}: what the sampler drew from"), width="stretch", key=f"text_step_{job.run_id}")
    with words:
        st.markdown(f"After reading the text so far, the network gave **{vocabulary.label(step.token)}** a probability "
                    f"of {step.probability:.3f}, and the sampler drew it (dark bar).")
        st.code(before[-300:], language=None, wrap_lines=True)
        if temperature not in (0, 1):
            st.caption(f"The bars include the temperature ({temperature:g}); the hover shows the network's own "
                       "probability.")


def inside_ui(job, vocabulary, prompt: str) -> None:
    """The gates and states of a recurrent layer over the prompt's tokens."""
    st.subheader("Inside: the gates over your prompt")
    ids = vocabulary.read(prompt)[None]  # (1, tokens)
    gates = session.cached("text_traces", (session.model_key(job), prompt), lambda: trace(job.model, ids),
                           limit=8)
    layers = recurrent_layer_names(job.model)
    layer = widgets.kept(st.selectbox, "Layer", key="text_layer", default=layers[-1], options=layers) \
        if len(layers) > 1 else layers[0]
    kind = layer_kind(job.model, layer)
    labels = [vocabulary.label(token) for token in ids[0]]
    st.plotly_chart(cell_plots.gates_figure(gates[layer]["forward"], ids[0], kind=kind, token_names=labels,
                                            title=f"{layer} while it reads the prompt"),
                    width="stretch", key=f"text_gates_{job.run_id}")
    st.caption("Each panel is one gate or state, a row per unit and a column per token. On **Inside the cell**, pick "
               "this run and type the prompt to step through the equations with their numbers.")


def map_ui(job) -> None:
    """Elman's map: the hidden state after each word of grammar sentences, before and after training."""
    st.subheader("Elman's map: what the hidden state knows about words")
    if not job.dataset.categories:
        st.info("The map needs words whose kinds are known: train on the toy grammar to draw it.")
        return
    layers = recurrent_layer_names(job.model)
    chosen = widgets.remembered("text_layer")  # the layer picked above, where there is a choice
    layer = chosen if chosen in layers else layers[-1]
    before, after = session.cached(
        "text_maps", (session.model_key(job), layer), lambda: get_lab().word_map(job, layer), limit=4,
        spinner="Reading grammar sentences with the network before and after training…")
    st.plotly_chart(text_plots.word_map_figure(before, after, categories=text_data.CATEGORIES), width="stretch",
                    key=f"text_map_{job.run_id}")
    for paragraph in explain.describe_map(before.separation, after.separation):
        st.markdown(paragraph)
    st.caption(f"{len(after.states.words):,} words of {word_map.MAP_SENTENCES} grammar sentences read as one text; "
               "each point is the hidden state after one word, projected on its two directions of largest variance "
               "(PCA). The untrained network is the same network before its first update (weights from the seed). "
               "The distance ratio is measured in the full hidden state, and leaves out pairs of the same word.")


# --- The page --------------------------------------------------------------------------------------------------------

stored = session.stored_config("text")  # a shared link such as /next_word?task=text&level=char opens with its settings
warning = session.pop_config_warning("text")
if warning:
    st.warning(warning)
config = widgets.config_ui(stored, prefix="text", tasks=("text",), data_fields=("level", "vocab_size", "embedding_dim"))

st.subheader("The text")
config, dataset = text_ui(config)
if dataset is not None:
    rows = get_lab().parameters(config, dataset)
    st.metric("Trainable parameters", f"{sum(row['parameters'] for row in rows):,}",
              help="Closed-form count: the embedding and the output layer grow with the vocabulary.")
    with st.expander("Where the parameters come from"):
        st.dataframe(rows, hide_index=True, width="stretch")

st.subheader("Training")
buttons = st.columns([1, 1, 3])
active = progress.train_button(buttons[0], "text_train", "text_shown", config, dataset,
                               off="Choose a text that can be read first." if dataset is None else None)
if buttons[1].button("Stop", disabled=active is None, width="stretch", key="text_stop"):
    session.stop_all()
if active is not None and active.config.task != "text":
    buttons[2].caption("A run from another page is training; this page can train when it ends.")

job = shown_job()
if job is None:
    if dataset is not None:
        st.info("Press **Train** to train this network on the text. The loss curve appears after the first batches, "
                "and a sample of what it writes after each epoch.")
    st.stop()
if job.config != config:
    # The settings have moved on since this run started: say whose run this is, so no number is misread.
    st.info(f"Below is your last text run, **{session.names()[job.run_id]}**, trained with other settings than "
            "the ones above. Press **Train** to train those.")


def live_panel() -> None:
    record = job.record.snapshot()
    name = session.names().get(record.run_id, record.name)
    st.markdown(f"**{name}** · {len(job.dataset.x_train):,} training windows" if job.dataset is not None
                else f"**{name}**")
    progress.pause_controls(job, "text")
    progress.draw_progress(record, "windows", job)
    columns = st.columns(2)
    columns[0].plotly_chart(run_plots.loss_figure([record]), width="stretch", key=f"text_loss_{record.run_id}")
    columns[1].plotly_chart(text_plots.perplexity_figure([record]), width="stretch",
                            key=f"text_perplexity_{record.run_id}")
    samples_ui(record)


progress.live([job], "text_settled", live_panel)  # then what needs the trained model appears
# A name of its own: the live panel's fragment reruns alone and reads `job`, which must stay the run it draws.
seen = session.looking_at(job)  # an ended run, or a paused one as it is now (issue 21), else None while it trains
if seen is not None and seen.paused:
    st.info(f"**{session.names().get(seen.run_id, seen.record.name)}** is paused after epoch "
            f"{pause_position(seen.record)[0]}: the prompt below is read by the network as it is now. Resume it "
            "above to carry on training.")
if seen is not None and seen.model is not None and (seen.record.epochs_done or seen.paused):
    vocabulary = text_data.vocabulary_of(seen.dataset)
    prompt = next_token_ui(seen, vocabulary)
    if prompt is not None:
        writing_ui(seen, vocabulary, prompt)
        inside_ui(seen, vocabulary, prompt)
    map_ui(seen)
