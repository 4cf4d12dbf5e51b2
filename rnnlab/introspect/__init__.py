"""Look inside recurrent layers: gate activations and states, and gradients through time.

    from rnnlab.introspect import trace, gradient_norms
    gates = trace(model, x)                   # {layer: {"forward": {gate: (batch, T, units)}, "backward": ...}}
    norms = gradient_norms(model, x, y)       # {layer: {"forward": (T,), "backward": ...}}

`gates.py` recomputes every gate from the layer's own weights; `gradients.py` measures the total derivative of the
compiled loss with respect to each hidden state; `layers.py` holds what both need to walk a model.
"""

from rnnlab.introspect.gates import (forget_gate_by_epoch, forget_gate_units, mean_forget_gate, spectral_radii,
                                     spectral_radius, trace)
from rnnlab.introspect.gradients import gradient_norms
from rnnlab.introspect.layers import recurrent_layer_names

__all__ = ["trace", "gradient_norms", "mean_forget_gate", "forget_gate_by_epoch", "forget_gate_units",
           "spectral_radius", "spectral_radii", "recurrent_layer_names"]
