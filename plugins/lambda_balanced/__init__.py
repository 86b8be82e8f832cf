"""Built-in plugin: exact learning dynamics of λ-balanced two-layer linear networks."""
