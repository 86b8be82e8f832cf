"""The source documents the built-in plugins' claims come from (key → title).

The texts are in the project's shared ``sources/`` directory; claims cite them by key."""

KERNEL_THESIS = "kernel-thesis"
HANIN_NICA = "hanin-nica"
LAMBDA_THESIS = "lambda-thesis"
DLN_THESIS = "dln-thesis"

TITLES = {
    KERNEL_THESIS: "Kernel maps, linear-MLP collapse and batch-norm rank (thesis draft)",
    HANIN_NICA: "Hanin & Nica, Products of many large random matrices and gradients in deep "
                "neural networks (arXiv:1812.05994)",
    LAMBDA_THESIS: "λ-balanced two-layer linear networks: exact learning dynamics (thesis)",
    DLN_THESIS: "Riemannian geometry of balanced deep linear networks (thesis)",
}


def source(key: str) -> dict[str, str]:
    """``source=`` and ``source_title=`` keyword arguments of a Claim."""
    return {"source": key, "source_title": TITLES[key]}
