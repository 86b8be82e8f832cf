"""Claims of the batch-norm part of the thesis draft ("Big BN hypothesis", L371–420)."""

from matexplore import AllOf, Claim, Close, ErrorBelow, SourceWithinSE

from ..sources import KERNEL_THESIS, source

_SRC = source(KERNEL_THESIS)
_HYP = "§Batch Norm (new), Big BN hypothesis (L372)"
_SMALL = {"width": 64, "batch": 32, "depth": 120}

CLAIMS = [
    Claim(id="batchnorm-rank.rank-sqrt-d", **_SRC, location=_HYP,
          statement="With batch norm the rank of the batch Gram settles at ≈ √d "
                    "(d = 64, n = 32, 120 layers; within 25 %)",
          experiment="batchnorm-rank.depth", params=_SMALL,
          rule=AllOf((Close("sqrt_width", "participation_ratio", tol=0.25),
                      Close("sqrt_width", "entropy_rank", tol=0.25),
                      Close("sqrt_width", "numerical_rank", tol=0.25)),
                     ("participation ratio", "entropy rank", "numerical rank")),
          corrected="True for the participation ratio (≈ min(n, √d)) and the entropy rank "
                    "(≈ 1.15√d); not for the numerical rank or λ_min, which keep falling."),
    Claim(id="batchnorm-rank.weight-step", **_SRC, location=f"{_HYP}, weight step",
          statement="A Gaussian weight layer changes log det G by −n²/(2d) per layer "
                    "(d = 64, n = 32)",
          experiment="batchnorm-rank.depth", params=_SMALL,
          rule=SourceWithinSE("dlogdet_weights_source", "mean_dlogdet_weights",
                              "se_dlogdet_weights", exact="dlogdet_weights_theory"),
          corrected="Exactly m·log(2/d) + Σ_{i≤m} ψ((d−i+1)/2) ≈ −m(m+1)/(2d) − m³/(6d²): "
                    "the −n/(2d) term is missing."),
    Claim(id="batchnorm-rank.orthogonal", **_SRC, location=f"{_HYP}, hypothesis 4",
          statement="With orthogonal weights the −n/(2d) term vanishes and the rank does "
                    "not collapse (PR → n; d = 64, n = 16, 200 layers; within 15 %)",
          experiment="batchnorm-rank.compare",
          params={"width": 64, "batch": 16, "depth": 200},
          rule=AllOf((Close("batch", "participation_ratio_orthogonal", tol=0.15),
                      ErrorBelow("mean_dlogdet_weights_orthogonal", tol=1e-9)),
                     ("PR orthogonal ≈ n", "weight step = 0")),
          corrected="Confirmed: the weight step is exactly 0 and PR stays near n (14.6 of "
                    "16 here; 30.2 of 32 at d = 256), while Gaussian weights settle near √d."),
    Claim(id="batchnorm-rank.equilibrium", **_SRC, location=f"{_HYP}, hypothesis 5",
          statement="At equilibrium the log-eigenvalues of G have mean −n/d and variance "
                    "n²/d (d = 1024, n = 16; within 0.01 and 0.05)",
          experiment="batchnorm-rank.depth",
          params={"width": 1024, "batch": 16, "depth": 150, "sampler": "reduced"},
          rule=AllOf((Close("equilibrium_mean_log_eig_source", "mean_log_eig", tol=0.01),
                      Close("equilibrium_var_log_eig_source", "var_log_eig", tol=0.05)),
                     ("mean −n/d", "variance n²/d")),
          corrected="Fails: mean ≈ −0.037 and variance ≈ 0.078 at d = 1024, n = 16 "
                    "(source: −0.016 and 0.25)."),
]
