"""Claims of the linear-MLP part of the thesis draft and of Hanin & Nica's abstract."""

from matexplore import AllOf, Claim, Close, SourceWithinSE

from ..sources import HANIN_NICA, KERNEL_THESIS, source

_SRC = source(KERNEL_THESIS)
_NORMS = {"width": 10, "depth": 100, "networks": 20_000, "sampler": "chi2"}

CLAIMS = [
    Claim(id="mlp-collapse.lognorm-mean", **_SRC, location="Corollary 1 (L336)",
          statement="log‖x_L‖² → N(−Σ_ℓ 1/(2d_ℓ), Σ_ℓ 2/d_ℓ): the mean (d = 10, L = 100)",
          experiment="mlp-collapse.norms", params=_NORMS,
          rule=SourceWithinSE("mean_source", "mean_mc", "mean_se", exact="mean_exact"),
          corrected="E log‖x_L‖² = Σ[ψ(d_k/2) + log(2/d_{k−1})] ≈ −Σ 1/d_k: the source's "
                    "mean is off by a factor 2 (the log-det expansion drops −n/(2d))."),
    Claim(id="mlp-collapse.lognorm-var", **_SRC, location="Corollary 1 (L336)",
          statement="log‖x_L‖² → N(−Σ_ℓ 1/(2d_ℓ), Σ_ℓ 2/d_ℓ): the variance Σ 2/d_ℓ "
                    "(d = 10, L = 100; within 3 %)",
          experiment="mlp-collapse.norms", params=_NORMS,
          rule=Close("var_source", "var_mc", tol=0.03, exact="var_exact"),
          corrected="Var log‖x_L‖² = Σ ψ'(d_k/2) exactly; Σ 2/d_k is its large-width limit "
                    "(20 vs 22.1 at d = 10)."),
    Claim(id="mlp-collapse.digamma-law", **_SRC,
          location="Lemma 'Expected log-determinant of Wishart' (L440), n = 1",
          statement="E log(‖Wx‖²/‖x‖²) = ψ(d/2) + log(2/d) per layer, so "
                    "E log‖x_L‖² = Σ[ψ(d_k/2) + log(2/d_{k−1})]",
          experiment="mlp-collapse.norms", params=_NORMS,
          rule=SourceWithinSE("mean_exact", "mean_mc", "mean_se"),
          corrected="Confirmed (the exact χ² law)."),
    Claim(id="mlp-collapse.angle-mean", **_SRC, location="Corollary 2 (L350)",
          statement="log(sin²θ_L/sin²θ_0) → N(−Σ_ℓ 1/d_ℓ, Σ_ℓ 8/d_ℓ): the mean "
                    "(d = 32, L = 100, θ_0 = 90°)",
          experiment="mlp-collapse.angles",
          params={"width": 32, "depth": 100, "networks": 2000},
          rule=SourceWithinSE("mean_source", "mean_log_sin2", "mean_se",
                              exact="mean_exact_small_angle"),
          corrected="Right to first order; exactly L·[ψ((d−1)/2) − ψ(d/2)]."),
    Claim(id="mlp-collapse.angle-var", **_SRC, location="Corollary 2 (L350)",
          statement="log(sin²θ_L/sin²θ_0) → N(−Σ_ℓ 1/d_ℓ, Σ_ℓ 8/d_ℓ): the variance "
                    "(d = 32, L = 100; within 10 %)",
          experiment="mlp-collapse.angles",
          params={"width": 32, "depth": 100, "networks": 2000},
          rule=Close("var_source", "var_log_sin2", tol=0.1, exact="var_exact_conditional"),
          corrected="The proof adds the variances of correlated terms. Per layer "
                    "Var[Δ | θ] = ψ'((d−1)/2) − ψ'(d/2) + 2c(cos²θ) (≈ 4cos²θ/d); 7.1 here, "
                    "not 25."),
    Claim(id="mlp-collapse.logdet-series", **_SRC,
          location="Lemma 'Expected log-determinant of Wishart' (L440–450)",
          statement="E log det WᵀW ≈ −n²/(2d) − n³/(6d²) − n⁴/(3d³) (W d×n, N(0, 1/d); "
                    "d = 64, n = 32)",
          experiment="mlp-collapse.logdet", params={"d": 64, "n": [32], "samples": 1000},
          rule=SourceWithinSE("mean_source_expansion", "mean_mc", "mean_mc_se",
                              exact="mean_exact"),
          corrected="E log det WᵀW = n log(2/d) + Σ_{i<n} ψ((d−i)/2) ≈ −n(n+1)/(2d) − "
                    "n³/(6d²) − n⁴/(12d³): the series misses −n/(2d) and its n⁴ coefficient "
                    "is 1/12."),
    Claim(id="mlp-collapse.logdet-clt", **_SRC, location="CLT for log det (L487)",
          statement="Var log det WᵀW ≈ 2n/d (d = n = 64; within 10 %)",
          experiment="mlp-collapse.logdet", params={"d": 64, "n": [64], "samples": 1000},
          rule=Close("var_clt", "var_mc", tol=0.1, exact="var_exact"),
          corrected="Var = Σ_{i<n} ψ'((d−i)/2) ≈ −2 log(1 − n/d): 2n/d is only the "
                    "small-n/d limit (2 vs 13.9 at n = d)."),
    Claim(id="mlp-collapse.sub-rotation", **_SRC,
          location="Corollary 'sub-rotation log-determinant' (L400–410)",
          statement="E log det(UᵀD²U) = (n/d) log det D² for Haar U ∈ R^{d×n}, n | d "
                    "(d = 32, n = 4, lognormal D²)",
          experiment="mlp-collapse.sub-rotation",
          params={"d": 32, "n": 4, "samples": 1000},
          rule=SourceWithinSE("claimed", "mc", "mc_se"),
          corrected="Only a lower bound (the proof uses Fischer's inequality as an "
                    "equality): (n/d) log det D² ≤ E log det(UᵀD²U) ≤ n log(tr D²/d)."),
    Claim(id="mlp-collapse.rank-one-jacobian", **_SRC, location="Remark (L230)",
          statement="In an RMS-normalised linear MLP the Jacobian rank collapses to 1 "
                    "(σ_2/σ_1 of W_L⋯W_{ℓ+1} decays geometrically), so gradients vanish",
          experiment="mlp-collapse.rms-jacobian",
          params={"width": 16, "depth": 48, "networks": 24},
          rule=SourceWithinSE("lyapunov_gap_theory", "lyapunov_gap_measured",
                              "lyapunov_gap_se"),
          corrected="Confirmed, at the Lyapunov rate λ_2 − λ_1 = ½[ψ((d−1)/2) − ψ(d/2)] ≈ "
                    "−1/(2d) per layer (not in the source)."),
    Claim(id="hanin-nica.lognorm-variance", **source(HANIN_NICA), location="Abstract",
          statement="log‖W_L⋯W_1 x‖² is asymptotically Gaussian with variance 2β, "
                    "β = Σ_ℓ 1/d_ℓ (d = 100, L = 100; within 3 %)",
          experiment="mlp-collapse.norms",
          params={"width": 100, "depth": 100, "networks": 20_000, "sampler": "chi2"},
          rule=AllOf((Close("var_source", "var_mc", tol=0.03, exact="var_exact"),
                      SourceWithinSE("mean_exact", "mean_mc", "mean_se")),
                     ("variance 2β", "mean (exact finite-width law)")),
          corrected="Confirmed at large width; the finite-width statement is the exact law "
                    "Var = Σ ψ'(d_k/2) (2β is 10 % low at d = 10)."),
]
