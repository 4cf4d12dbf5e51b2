"""Look inside trained recurrent layers: gate activations, states and gradients through time."""
