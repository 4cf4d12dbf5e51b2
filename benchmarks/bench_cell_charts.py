"""The browser's time drawing each chart of Inside the cell at the hostile link's size, one chart at a time.

    python benchmarks/bench_cell_charts.py            # about a minute on two cores
    python benchmarks/bench_cell_charts.py --repeats 9

Builds the page's figures as `pages/inside_cell.py` does for `/inside_cell?task=adding&seq_len=2000` (the untrained
model of those settings, validation sequence 1, step 1, unit 1, the default units chart), writes each as Streamlit
sends it (`plotly.io.to_json`), and draws it in headless Chromium with `Plotly.newPlot` (plotly.js from the plotly
package, 4.1 here; Streamlit bundles 4.2), at the width the page gives it in a 1,400 px tab. For each chart: the
median milliseconds of `newPlot`, the SVG elements drawn, and whether Plotly had to widen a margin (which redraws
the whole figure a second time). Wall clock, so say the load; compare before/after in the same conditions.
The render a learner waits for also holds Streamlit's own work (see bench_hostile_tabs.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from served import CHROMIUM, FLAGS  # noqa: E402

# The width each chart gets on the page in a 1,400 px tab (the gates chart in a 4:1 column, the step terms in 3:2).
WIDTHS = {"gates": 744, "diagram": 940, "step terms": 368, "units": 940, "saturation": 556}
DRAW = """async ([spec, width]) => {
  const figure = JSON.parse(spec);
  figure.layout.width = width;
  const div = document.createElement('div');
  document.body.appendChild(div);
  const start = performance.now();
  await Plotly.newPlot(div, figure.data, figure.layout);
  if (figure.frames) await Plotly.addFrames(div, figure.frames);
  const seconds = performance.now() - start;
  const size = div._fullLayout._size, asked = figure.layout.margin || {};
  const widened = ['l', 'r', 't', 'b'].filter(side => asked[side] !== undefined && size[side] > asked[side]);
  const elements = div.querySelectorAll('*').length;
  Plotly.purge(div);
  div.remove();
  return [seconds, elements, widened];
}"""


def figures() -> dict:
    """The page's figures for the hostile link, as Streamlit sends them."""
    import plotly.io

    from rnnlab.config import RunConfig
    from rnnlab.data import get_task
    from rnnlab.introspect import cell_wires, recurrent_layer_names, steps
    from rnnlab.lab import get_lab
    from rnnlab.plots import cell as cell_charts
    from rnnlab.plots import cell_diagram

    model, dataset = get_lab().untrained(RunConfig(task="adding", seq_len=2000, eval_samples=50000))
    layer, direction, step, unit = recurrent_layer_names(model)[0], "forward", 0, 0
    x = dataset.x_val[:1]
    seen = steps.replay(model, x)
    gates = seen.gates[layer][direction]
    kind = steps.layer_kind(model, layer)
    timesteps = gates["hidden"].shape[1]
    frames, needed = cell_wires.diagram_steps(step, timesteps, direction, cell_diagram.FRAMES,
                                              cell_diagram.STRIP_STEPS)
    wires = cell_wires.sequence_wires(model, seen, layer, direction, unit, needed)
    quantities = ["forget", "cell", "hidden"] if kind == "LSTM" else ["update", "hidden"] if kind == "GRU" \
        else ["hidden"]
    built = {
        "gates": cell_charts.mark_step(cell_charts.gates_figure(
            gates, x[0], kind=kind, feature_names=dataset.feature_names,
            token_names=get_task(dataset.task).step_labels(dataset, x[0]), title=f"{layer}, {direction}"), step),
        "diagram": cell_diagram.diagram_figure(wires, frames, step, timesteps, title=f"{layer}, {direction}"),
        "step terms": cell_charts.step_terms_figure(steps.cell_step(model, seen, layer, direction, step, unit)),
        "units": cell_charts.mark_step(cell_charts.units_figure(gates, [0, 1, 2], quantities, kind=kind), step),
        "saturation": cell_charts.saturation_figure(steps.saturation(gates)),
    }
    return {name: plotly.io.to_json(figure, validate=False) for name, figure in built.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    os.environ.setdefault("RNNLAB_WORKERS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import plotly
    from playwright.sync_api import sync_playwright

    specs = figures()
    script = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    print(f"load average at the start: {os.getloadavg()[0]:.2f} (two cores)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=str(script))
        total = 0.0
        for name, spec in specs.items():
            runs = [page.evaluate(DRAW, [spec, WIDTHS[name]]) for _ in range(arguments.repeats)]
            milliseconds = statistics.median(run[0] for run in runs)
            total += milliseconds
            widened = runs[0][2]
            print(f"{name:11s} newPlot {milliseconds:5.0f} ms (median of {arguments.repeats}), "
                  f"{runs[0][1]:5,} SVG elements, {len(spec) / 1e6:4.2f} MB of JSON, "
                  + (f"margins widened ({', '.join(widened)}): drawn twice" if widened else "drawn once"))
        print(f"all five: {total:.0f} ms")
        browser.close()


if __name__ == "__main__":
    main()
