"""Built-in plugin mlp_collapse: heavy-tailed norms, angle and rank collapse, log-determinants."""
