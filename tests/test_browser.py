"""The whole app in a real browser: Streamlit serving app.py, Debian's Chromium driven by Playwright.

Skipped (with the reason) where Chromium or Playwright is missing; CI installs both (.ci/run).
"""

import os
import re
import tempfile
import threading
import urllib.request

import pytest

# The served app, the shared server and Chromium live in helpers.py and conftest.py (test_curves.py and
# test_cell_diagram.py use them too); these names stay importable from here.
from helpers import CHROMIUM, CHROMIUM_FLAGS, ROOT, free_port, screenshot, serve  # noqa: F401

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python driver is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


# The live run's loss chart on Build & Train (keyed `bt_loss_<run id>`; Streamlit names its element by the key).
LOSS_CHART = "[class*='st-key-bt_loss_'] .js-plotly-plot"


def chart_traces(page, index: int = 0) -> list[dict]:
    """The data Plotly is drawing in the index-th chart on the page (names and y values), once Plotly has drawn it
    (a chart redrawn as its run ends is a bare element for a moment)."""
    page.wait_for_function("(index) => { const chart = document.querySelectorAll('.js-plotly-plot')[index];"
                           " return Boolean(chart && chart.data); }", arg=index, timeout=30_000)
    return page.evaluate(
        "(index) => Array.from(document.querySelectorAll('.js-plotly-plot'))[index].data"
        ".map(trace => ({name: trace.name, y: Array.from(trace.y || [])}))", index)


def open_ready(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Trainable parameters").wait_for(timeout=90_000)


def test_train_with_the_defaults_draws_the_live_loss_curve(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_ready(page, server)
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator(LOSS_CHART).wait_for(timeout=30_000)  # the run's chart, not the task's examples drawn before it
    # Training lives on its own thread: a widget click and a trip to another page must not end it.
    page.get_by_text("Log-scale loss axis").click()
    page.get_by_role("link", name="Compare runs").click()
    page.get_by_text("Runs to overlay").wait_for(timeout=60_000)
    page.get_by_role("link", name="Build & Train").click()
    page.get_by_text("What the network answers").wait_for(timeout=180_000)
    page.get_by_text("Finished 10 epochs").wait_for(timeout=10_000)
    traces = {trace["name"]: trace["y"] for trace in chart_traces(page, 0)}
    assert len(traces["training"]) == 10 and len(traces["validation"]) == 10
    assert traces["validation"][-1] < traces["validation"][0]  # the default network learns the sine task
    screenshot(page, "build_and_train")

    # The run just trained is what the introspection pages open on.
    page.get_by_role("link", name="Inside the cell").click()
    page.get_by_text("Gates and states over time").wait_for(timeout=60_000)
    page.get_by_text("Gates over training").wait_for(timeout=60_000)
    assert "LSTM 32 · sine T=30" in page.content()  # the run picker opens on the run just trained
    assert page.locator(".js-plotly-plot").count() >= 2  # the gate heatmaps and the unit lines at least
    page.get_by_role("link", name="Gradients through time").click()
    page.get_by_text("Epoch by epoch", exact=True).wait_for(timeout=60_000)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "the gradient reaching step 1 is" in text
    page.close()


def test_three_learners_train_at_once_without_touching_each_others_runs(server, browser):
    cells = ["simplernn", "gru", "lstm"]
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in cells]
    pages = [context.new_page() for context in contexts]
    for page, cell in zip(pages, cells):
        open_ready(page, f"{server}/?cell={cell}&epochs=2&samples=256&units=8")
    for page in pages:
        page.get_by_role("button", name="Train", exact=True).click()
    for page in pages:
        page.get_by_text("Finished 2 epochs").wait_for(timeout=180_000)
    titles = {"simplernn": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}
    for page, cell in zip(pages, cells):
        # The sidebar link keeps the learner's session (reloading the address would start a new one).
        page.get_by_role("link", name="Compare runs").click()
        page.get_by_text("Runs to overlay").wait_for(timeout=60_000)
        text = page.locator("[data-testid='stMain']").inner_text()
        others = [titles[other] for other in cells if other != cell]
        assert f"{titles[cell]} 8 · sine" in text
        assert not any(f"{name} 8 · sine" in text for name in others)
    for context in contexts:
        context.close()


def test_a_deep_link_to_a_fresh_server_opens_that_page_inside_the_app(browser):
    # Its own server: Streamlit runs a page of a folder called pages/ on its own when it is the first thing a new
    # server serves; pages/__init__.py hands it back to app.py's navigation (see there).
    with serve() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/runs")
        page.get_by_role("heading", name="Compare runs").wait_for(timeout=90_000)
        navigation = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Build & Train" in navigation and "Inside the cell" in navigation
        assert "session" not in navigation.split() and "widgets" not in navigation.split()
        page.close()


def test_imdb_trains_on_an_uploaded_csv_and_reads_the_learners_review(server, browser, tmp_path):
    # AppTest cannot drive a file upload; a browser can. The reviews are made here: two small vocabularies.
    import random

    random.seed(0)
    good, bad = ["great", "wonderful", "loved", "superb", "fun"], ["awful", "boring", "hated", "dull", "worst"]
    rows = ["review,sentiment"]
    for index in range(160):
        words, label = (good, "positive") if index % 2 else (bad, "negative")
        rows.append(f"the film was {' '.join(random.choices(words, k=6))} overall,{label}")
    csv = tmp_path / "tiny_reviews.csv"
    csv.write_text("\n".join(rows) + "\n")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_ready(page, server)
    page.get_by_role("link", name="IMDB sentiment").click()
    page.get_by_text("Where the reviews come from").wait_for(timeout=60_000)
    page.get_by_text("A CSV of raw reviews").click()
    page.locator("input[type=file]").set_input_files(str(csv))
    page.get_by_text("Using the uploaded file").wait_for(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("How it does on the test reviews").wait_for(timeout=180_000)
    page.get_by_text("Your own review").wait_for(timeout=60_000)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "tiny_reviews.csv" in text and "Test accuracy" in text
    # Every word but "truly" is in the reviews, so the model reads that one as unknown.
    page.get_by_label("Type a review").fill("the film was truly great fun overall")
    page.get_by_label("Type a review").press("Control+Enter")
    page.get_by_text("As the model reads it: the film was [UNK] great fun overall").wait_for(timeout=60_000)
    page.close()


def test_every_lesson_renders_without_a_katex_error_raw_maths_or_a_broken_table(server, browser):
    from rnnlab.lessons import all_lessons

    lessons = all_lessons()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/lessons")
    for lesson in lessons:
        page.get_by_test_id("stRadioGroup").get_by_text(lesson.title, exact=True).click()
        page.get_by_role("heading", name=lesson.title).wait_for(timeout=60_000)
        shown = lesson.shown()  # what a learner sees before answering (a quiz's ```reveal waits for its answer)
        math = sum(1 for block in shown if block.kind == "math")
        if math:  # KaTeX typesets after the Markdown arrives: wait for the last display formula
            page.locator(".katex-display, .katex-error").nth(math - 1).wait_for(state="attached", timeout=30_000)
        main = page.locator("[data-testid='stMain']")
        text = main.inner_text()
        assert page.locator(".katex-error").count() == 0, f"{lesson.name}: KaTeX could not typeset a formula"
        assert "$$" not in text and "\\frac" not in text and "\\operatorname" not in text, \
            f"{lesson.name}: raw LaTeX on the page"
        assert "| ---" not in text and "|---" not in text, f"{lesson.name}: a Markdown table did not render"
        tables = sum(1 for block in shown if block.kind == "markdown" and "| ---" in block.text)
        assert main.locator("table").count() >= tables, f"{lesson.name}: fewer tables than the lesson has"
        assert main.locator(".katex-display").count() >= math, f"{lesson.name}: a display formula is missing"
        # A preset's share link is a whole link a learner can paste, to the page of this server that trains it
        # (Build & Train; IMDB sentiment for IMDB presets, Next word for text ones).
        for preset in [block for block in shown if block.kind == "try"][:1]:
            link = page.get_by_text("Share as a link:").first.inner_text()
            where = {"imdb": "imdb", "text": "next_word"}.get(preset.config.task, "")
            assert link == f"Share as a link: {server}/{where}?{preset.query}"
    page.close()


def test_tables_show_every_cell_and_no_none(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 900})  # a narrow window, as on a projector
    open_ready(page, f"{server}/?epochs=1&samples=128&units=4&layers=2&bidirectional=true")
    layer_table = page.locator("[data-testid='stTable']").first
    layer_table.wait_for(timeout=30_000)
    for cell in ("(batch, 30, 8)", "Bidirectional(LSTM)"):
        assert layer_table.get_by_text(cell, exact=True).first.is_visible()
    overflow = layer_table.evaluate("element => element.scrollWidth - element.clientWidth")
    assert overflow <= 1, f"the layer table is {overflow} px wider than its column"
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Finished 1 epoch").wait_for(timeout=120_000)
    page.get_by_role("link", name="Compare runs").click()
    page.get_by_text("Runs to overlay").wait_for(timeout=60_000)
    runs_table = page.locator("[data-testid='stTable']").first  # a static table since issue 18.6 (no cut columns)
    runs_table.wait_for(timeout=30_000)
    cells = runs_table.locator("td").all_inner_texts()
    assert cells and not any(cell.strip() == "None" for cell in cells), cells
    page.close()


def test_compare_runs_shows_every_column_whole_and_a_good_upload_at_once(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_ready(page, f"{server}/?epochs=1&samples=128&units=4")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Finished 1 epoch").wait_for(timeout=300_000)
    page.get_by_role("link", name="Compare runs").click()
    page.get_by_text("Runs to overlay").wait_for(timeout=60_000)
    runs_table = page.locator("[data-testid='stTable']").first
    headers = [text.strip() for text in runs_table.locator("th").all_inner_texts()]
    for header in ("training loss", "validation loss", "learned-nothing loss", "seconds", "sequences / s"):
        assert header in headers, headers  # whole, not "training los"
        cell = runs_table.locator("th", has_text=header).first
        box, view = cell.bounding_box(), page.viewport_size
        assert box and box["x"] + box["width"] <= view["width"], f"{header} is off-screen at 1,400 px"
    overflow = runs_table.evaluate("element => element.scrollWidth - element.clientWidth")
    assert overflow <= 1, f"the runs table is {overflow} px wider than its column"
    with page.expect_download() as download:
        page.get_by_role("button", name="Run as JSON").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    page.close()

    # A new learner (no token in the address) uploads that run: the page shows it at once, table and all.
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/runs")
    page.get_by_text("No runs yet").wait_for(timeout=90_000)
    page.get_by_text("Upload a run").click()
    page.locator("input[type=file]").set_input_files(str(saved))
    page.get_by_role("button", name="Add to my runs").click()
    page.get_by_text("Runs to overlay").wait_for(timeout=120_000)
    main = page.locator("[data-testid='stMain']")
    main.get_by_text("Added LSTM 4 · sine T=30.").wait_for(timeout=60_000)
    assert "No runs yet" not in main.inner_text()
    assert page.locator("[data-testid='stTable']").first.locator("td").count() > 0
    page.close()


def test_next_word_trains_the_default_text_and_answers_a_typed_prompt(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_ready(page, server)
    page.get_by_role("link", name="Next word").click()
    page.get_by_text("Where the text comes from").wait_for(timeout=60_000)
    page.get_by_text("Trainable parameters").wait_for(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("What comes next?").wait_for(timeout=180_000)
    page.get_by_text("Elman's map: what the hidden state knows about words").wait_for(timeout=60_000)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "Finished 10 epochs" in text and "After epoch 10" in text
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("the dog chased the")
    prompt.press("Enter")
    page.get_by_text("after it read “the dog chased the”").wait_for(timeout=60_000)
    # While the page reruns, the chart for the old prompt may still be on screen: wait until only one is left.
    titles = "Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.layout.title && " \
             "plot.layout.title.text.includes('most likely next words'))"
    page.wait_for_function(f"() => {titles}.length === 1", timeout=60_000)
    bars = page.evaluate(f"() => Array.from({titles}[0].data[0].y)")
    # Ten epochs of the grammar teach it that only an animal or a person can be chased.
    assert bars[0] in {"cat", "dog", "mouse", "bird", "man", "woman", "boy", "girl"}, bars
    screenshot(page, "next_word")
    page.close()


def code_text(page, holding: str) -> str:
    """The text of the first code block on the page (Streamlit's st.code) that holds `holding`, once it is drawn."""
    block = page.locator("[data-testid='stCode'] code", has_text=holding).first
    block.wait_for(timeout=30_000)
    return block.inner_text().strip()


def test_a_reload_keeps_the_run_and_the_class_link_shows_it_to_the_teacher(server, browser):
    # The shared server: the class is new, so its counts are this test's alone, and the learner is new.
    url = server
    teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.goto(f"{url}/classroom")
    teacher.get_by_label("Name of the class").wait_for(timeout=90_000)  # a page of the app, loaded
    teacher.get_by_label("Name of the class").fill("Period 3")
    teacher.get_by_role("button", name="Make a class").click()
    teacher.get_by_text("Hand out this link to your learners").wait_for(timeout=90_000)
    join_link = code_text(teacher, "?join=")
    assert "join=" in join_link and "teacher=" not in join_link

    learner = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    learner.goto(join_link)
    learner.get_by_text("You joined the class").wait_for(timeout=90_000)
    learner.wait_for_function("() => window.location.search.includes('learner=')", timeout=30_000)
    # The sidebar shows the defaults from its first paint (test_ten_fresh_visits_...); the page has settled
    # once the cost is drawn.
    learner.get_by_text("This run needs about").wait_for(timeout=90_000)
    playwright_api.expect(learner.get_by_role("spinbutton", name="Sequence length (time steps)")).to_have_value(
        "30", timeout=30_000)
    learner.get_by_text("You", exact=True).click()  # the sidebar's "You": a name the teacher will see
    learner.get_by_role("textbox", name="Your name").fill("Ada")
    learner.keyboard.press("Enter")
    learner.get_by_text("You: Ada").wait_for(timeout=30_000)
    learner.get_by_role("button", name="Train", exact=True).click()
    learner.locator(LOSS_CHART).wait_for(timeout=90_000)
    address = learner.url
    assert "learner=" in address and "join=" not in address
    learner.reload()  # in the middle of the run: the address names the learner, the run is reattached
    try:
        learner.get_by_text("Finished 10 epochs").wait_for(timeout=300_000)
    except playwright_api.TimeoutError:
        screenshot(learner, "reload_timeout")
        raise
    traces = {trace["name"]: trace["y"] for trace in chart_traces(learner, 0)}
    assert len(traces["validation"]) == 10
    # A new tab with the same link finds the same run.
    again = learner.context.new_page()
    again.goto(f"{url}/runs?learner={address.split('learner=')[1].split('&')[0]}")
    again.get_by_text("Runs to overlay").wait_for(timeout=60_000)
    assert "LSTM 32 · sine T=30" in again.locator("[data-testid='stMain']").inner_text()

    # No reload: the teacher's link left the address (issue 17.8), and the page redraws itself (issue 18.1).
    teacher.get_by_text("1 learner · 1 run of this task · 0 training now").wait_for(timeout=60_000)
    text = teacher.locator("[data-testid='stMain']").inner_text()
    assert "0 of 0" not in text and "beat the learned-nothing loss" in text
    teacher.get_by_text("Every run").click()
    playwright_api.expect(teacher.locator("[data-testid='stTable']").get_by_text("Ada", exact=True)).to_have_count(1)
    teacher.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert len(chart_traces(teacher, 0)) == 1
    teacher.context.close()
    learner.context.close()


def test_a_class_page_opened_before_any_run_shows_the_runs_and_tasks_as_they_arrive(server, browser):
    """Issue 18.1: the projector is opened first and never touched; two learners join and train, then one trains a
    second task. Each run must appear on the teacher's page by itself, within seconds of starting."""
    teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.goto(f"{server}/classroom")
    teacher.get_by_label("Name of the class").wait_for(timeout=90_000)
    teacher.get_by_label("Name of the class").fill("Projector first")
    teacher.get_by_role("button", name="Make a class").click()
    teacher.get_by_text("0 learners joined, no runs yet").wait_for(timeout=90_000)
    assert "teacher=" not in teacher.url  # the projector's address bar never shows the teacher's link
    join_link = code_text(teacher, "?join=")

    learners = []
    for name in ("Ada", "Bob"):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        open_ready(page, f"{join_link}&epochs=2&samples=256&units=8")
        page.get_by_text("This run needs about").wait_for(timeout=90_000)
        playwright_api.expect(page.get_by_role("spinbutton", name="Units per layer")).to_have_value(
            "8", timeout=30_000)
        learners.append(page)
    teacher.get_by_text("2 learners joined, no runs yet").wait_for(timeout=30_000)  # joined, redrawn unasked
    for page in learners:
        page.get_by_role("button", name="Train", exact=True).click()
    # A run's row is written when it is submitted; the teacher's page redraws every 3 s.
    teacher.get_by_text("2 learners · 2 runs of this task").wait_for(timeout=30_000)
    for page in learners:
        page.get_by_text("Finished 2 epochs").wait_for(timeout=300_000)
    teacher.get_by_text("2 runs of this task · 0 training now").wait_for(timeout=30_000)
    # The queue's table goes with the runs, at the next redraw or so (it once stayed, "training on worker", for
    # ten seconds after both had finished: a fragment's redraw kept what it no longer drew).
    teacher.get_by_text("Nobody in the class is training or waiting.").wait_for(timeout=8_000)
    playwright_api.expect(teacher.get_by_text("training on worker")).to_have_count(0, timeout=1_000)
    teacher.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # Plotly's script loads on first use
    playwright_api.expect(teacher.get_by_text("beat the learned-nothing loss")).to_have_count(1, timeout=30_000)
    assert len(chart_traces(teacher, 0)) == 2

    # A second task: its choice appears by itself, and the teacher's choice holds across the redraws.
    token = learners[0].url.split("learner=")[1].split("&")[0]
    ada = learners[0].context.new_page()  # Ada again, in a new tab of her browser
    ada.goto(f"{server}/?learner={token}&task=adding&epochs=2&samples=256&units=8")
    ada.get_by_text("Trainable parameters").wait_for(timeout=180_000)
    playwright_api.expect(ada.get_by_role("spinbutton", name="Units per layer")).to_have_value("8", timeout=30_000)
    ada.get_by_role("button", name="Train", exact=True).click()
    choice = teacher.get_by_text("Adding problem", exact=True)
    choice.wait_for(timeout=30_000)
    choice.click()
    teacher.get_by_text("2 learners · 1 run of this task").wait_for(timeout=30_000)
    ada.get_by_text("Finished 2 epochs").wait_for(timeout=300_000)
    teacher.get_by_text("2 learners · 1 run of this task · 0 training now").wait_for(timeout=30_000)
    screenshot(teacher, "class_live")
    for page in (teacher, *learners):
        page.context.close()


def test_a_run_that_kills_its_worker_ends_alone_while_another_finishes_and_the_server_answers(browser):
    # Workers of 1.5 GB, and a per-run budget that does not stop the runaway run: the worker's nanny must. Its own
    # server: these settings are the server's, and the killed worker must not cut another test's run.
    with serve(RNNLAB_WORKER_MEMORY_MB="1500", RNNLAB_MAX_RUN_MB="100000") as url:
        answers, stop = [], threading.Event()

        def check_health() -> None:
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
                        answers.append(response.status)
                except OSError as error:
                    answers.append(str(error))
                stop.wait(0.5)

        watcher = threading.Thread(target=check_health, daemon=True)
        watcher.start()
        runaway = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        small = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        # LSTM(256) over 1,000 steps in batches of 256 keeps about 3 GB for backpropagation through time.
        open_ready(runaway, f"{url}/?units=256&seq_len=1000&batch_size=256&samples=512&epochs=2")
        open_ready(small, f"{url}/?epochs=3&samples=512")
        runaway.get_by_role("button", name="Train", exact=True).click()
        small.get_by_role("button", name="Train", exact=True).click()
        small.get_by_text("Finished 3 epochs").wait_for(timeout=180_000)
        runaway.get_by_text("The worker training this run stopped").wait_for(timeout=180_000)
        message = runaway.locator("[data-testid='stAlertContentError']").first.inner_text()
        assert "1.5 GB memory limit" in message and "Traceback" not in runaway.content()
        # The server and the other learner carry on: a new run on the restarted worker trains to the end.
        small.get_by_role("button", name="Train", exact=True).click()
        stop_button = small.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True)
        playwright_api.expect(stop_button).to_be_enabled(timeout=60_000)  # the second run has started
        playwright_api.expect(stop_button).to_be_disabled(timeout=180_000)  # and ended
        small.get_by_role("link", name="Compare runs").click()
        small.get_by_text("Runs to overlay").wait_for(timeout=60_000)
        runs_table = small.locator("[data-testid='stTable']").first  # a static table since issue 18.6
        runs_table.wait_for(timeout=30_000)
        assert [cell.strip() for cell in runs_table.locator("td").all_inner_texts()].count("finished") == 2
        stop.set()
        watcher.join(10)
        assert answers and all(answer == 200 for answer in answers), [a for a in answers if a != 200][:3]
        runaway.context.close()
        small.context.close()


# --- One widget idiom, the address bar, wide code (the gate's pages) ------------------------------------------------

# Added to every page before it loads: every number box's value, from the first paint, into window.__seen
# ({label: [values ever shown]}), on every change of the page and every 5 ms.
RECORD_NUMBER_BOXES = """
window.__seen = {};
const record = () => {
  for (const box of document.querySelectorAll("input[type='number']")) {
    const label = box.getAttribute('aria-label') || '?';
    const seen = window.__seen[label] || (window.__seen[label] = []);
    if (!seen.includes(box.value)) seen.push(box.value);
  }
};
new MutationObserver(record).observe(document, {subtree: true, childList: true, attributes: true,
                                                characterData: true});
setInterval(record, 5);
"""


def default_boxes() -> dict[str, str]:
    """Build & Train's number boxes as the defaults show them: {label: the browser's text}."""
    from rnnlab.config import RunConfig, field_info

    defaults = RunConfig()
    formats = {"learning_rate": "%.5f", "clipnorm": "%.2f", "recurrent_gain": "%.2f", "forget_bias": "%.2f"}
    names = ("seq_len", "samples", "eval_samples", "units", "learning_rate", "batch_size", "epochs", "seed",
             "recurrent_gain", "forget_bias", "clipnorm")
    return {field_info(name)["label"]: formats[name] % getattr(defaults, name) if name in formats
            else str(getattr(defaults, name)) for name in names}


def test_ten_fresh_visits_never_show_anything_but_the_defaults(browser):
    # The first-visit defect: number boxes drawn without value= started at their minimums in the browser, and a
    # redraw racing the first one showed sequence length 2 and 16 training sequences (5 of 8 visits, 2026-12-01).
    # Its own server: the first visits of a new server (TensorFlow still importing, the workers starting) are the
    # ones that raced.
    expected = default_boxes()
    with serve() as url:
        for visit in range(10):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(RECORD_NUMBER_BOXES)
            page = context.new_page()
            page.goto(url)
            page.get_by_text("This run needs about").wait_for(timeout=90_000)
            page.wait_for_function("(count) => Object.keys(window.__seen).length >= count", arg=len(expected),
                                   timeout=30_000)
            # The page goes on settling after the first draw (the learner's token, the cost): record through it.
            page.wait_for_function("() => window.location.search.includes('learner=')", timeout=30_000)
            seen = page.evaluate("() => window.__seen")
            context.close()
            shown = {label: values for label, values in seen.items() if label in expected}
            assert shown.keys() == expected.keys(), f"visit {visit + 1}: boxes {sorted(seen)}"
            wrong = {label: values for label, values in shown.items() if values != [expected[label]]}
            assert not wrong, f"visit {visit + 1} showed other values than the defaults: {wrong}"


def address_holds(page, **settings: str) -> None:
    """Wait (with a deadline) until the address bar's query holds these settings."""
    try:
        page.wait_for_function("(want) => { const query = new URLSearchParams(window.location.search); "
                               "return Object.entries(want).every(([name, value]) => query.get(name) === value); }",
                               arg=settings, timeout=15_000)
    except playwright_api.TimeoutError:
        pytest.fail(f"after 15 s the address was {page.url}, without {settings}")


def test_the_address_holds_the_settings_after_every_change(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_ready(page, server)
    sidebar = page.locator("[data-testid='stSidebar']")
    units = sidebar.get_by_role("spinbutton", name="Units per layer")
    playwright_api.expect(units).to_have_value("32", timeout=30_000)
    sidebar.get_by_test_id("stNumberInput").filter(has=page.get_by_role("spinbutton", name="Units per layer")) \
        .get_by_test_id("stNumberInputStepUp").click()
    address_holds(page, units="33")
    sidebar.get_by_text("GRU", exact=True).click()
    address_holds(page, units="33", cell="gru")
    slider = sidebar.get_by_role("slider", name="Stacked layers")
    slider.focus()
    page.keyboard.press("ArrowRight")
    address_holds(page, units="33", cell="gru", layers="2")
    length = sidebar.get_by_role("spinbutton", name="Sequence length (time steps)")
    length.fill("45")
    length.press("Enter")
    address_holds(page, units="33", cell="gru", layers="2", seq_len="45")
    page.close()


def test_the_summary_and_the_code_have_the_width_they_need(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_ready(page, server)
    page.get_by_text("model.summary()", exact=True).click()
    summary = page.locator("[data-testid='stCode'] pre", has_text="Trainable params").first
    summary.wait_for(timeout=30_000)
    fits = summary.evaluate("(pre) => [pre.scrollWidth, pre.clientWidth]")
    assert fits[0] <= fits[1], f"model.summary() is {fits[0]} px wide in a {fits[1]} px block"
    assert re.search(r"Trainable params: [\d,]+ \([\d.]+ [KMG]?B\)", summary.inner_text())
    page.get_by_text("This network as Keras code").click()
    code = page.locator("[data-testid='stCode'] pre", has_text="model.fit").first
    code.wait_for(timeout=30_000)
    # The width of both columns above it, and a horizontal scroll for lines longer than that.
    widths = code.evaluate("(pre) => [pre.getBoundingClientRect().width, getComputedStyle(pre).overflowX, "
                           "document.querySelector(\"[data-testid='stHorizontalBlock']\").getBoundingClientRect()"
                           ".width]")
    assert widths[0] >= 0.95 * widths[2] and widths[1] in ("auto", "scroll"), widths
    page.close()


def test_a_deep_link_with_a_learner_opens_that_learners_page_inside_the_app(browser):
    # pages/__init__.py's rerun is what makes this work on a fresh server (see there for why it stays). Its own
    # server: the deep link must be the first thing a new server serves. The learner is made in its store as the
    # app's first visit makes one (`Store.new_learner`, pages/session.py), without a first server to start and stop.
    from rnnlab.store import Store

    home = tempfile.mkdtemp(prefix="rnnlab-browser-")
    token = Store(home).new_learner().token
    with serve(home) as url:  # freshly started, on a store that knows the learner
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/runs?learner={token}")
        page.get_by_role("heading", name="Compare runs").wait_for(timeout=90_000)
        navigation = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Build & Train" in navigation and "widgets" not in navigation.split()
        assert f"learner={token}" in page.url and "not known" not in page.locator("[data-testid='stMain']").inner_text()
        page.close()
