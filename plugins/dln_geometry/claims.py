"""Claims of the DLN Riemannian-geometry thesis (flows, geodesics, entropy)."""

from matexplore import AllHold, Claim, Close, ErrorBelow

from ..sources import DLN_THESIS, source

_SRC = source(DLN_THESIS)

CLAIMS = [
    Claim(id="dln.svd-flow-normalisation", **_SRC, location="eq. 4.18, Remark 4.1.3",
          statement="In SVD coordinates σ̇ = −Σ^{2−2/N} diag G for the balanced flow (4.1), "
                    "any normalisation of the operator working alike (d = 5, N = 4)",
          experiment="dln.flow-check", params={"steps": 10},
          rule=Close("final_energy_svd_source", "final_energy_factors", tol=1e-6,
                     exact="final_energy_svd"),
          corrected="σ̇ = −N Σ^{2−2/N} diag G for the raw flow (4.1); the printed form holds "
                    "only for the 1/N-normalised operator."),
    Claim(id="dln.rotated-geodesic", **_SRC, location="Thm 3.4.2, eq. 3.76",
          statement="γ(t) = U((1−t)Σ^{1/N} + tQΣ̃^{1/N}Qᵀ)^N Vᵀ is a geodesic between "
                    "UΣVᵀ and (UQ)Σ̃(VQ)ᵀ (d = 3, N = 2; energy within 1e-6 of the best path)",
          experiment="dln.geodesic", params={"kind": "rotated", "points": 32, "modes": 3},
          rule=Close("energy_closed_form", "energy_optimized", tol=1e-6),
          corrected="Only when QΣ̃Qᵀ commutes with Σ: for a generic Q the straight lift is "
                    "balanced but not horizontal, and a shorter path exists."),
    Claim(id="dln.diagonal-geodesic", **_SRC, location="Cor 3.4.2.1",
          statement="γ(t) = ((1−t)A^{1/N} + tB^{1/N})^N is a geodesic between positive "
                    "diagonal A, B (d = 3, N = 2)",
          experiment="dln.geodesic", params={"kind": "diagonal", "points": 32, "modes": 3},
          rule=Close("energy_closed_form", "energy_optimized", tol=1e-6),
          corrected="Confirmed (constant speed; no polynomial path is shorter)."),
    Claim(id="dln.bures-wasserstein", **_SRC, location="Thm 3.2.3, eq. 3.15",
          statement="For N = 2 on SPD matrices the DLN geodesic is the Bures–Wasserstein one "
                    "and its length is d_BW(A, B)",
          experiment="dln.geodesic",
          params={"kind": "bures-wasserstein", "depth": 2, "points": 32, "modes": 3},
          rule=Close("bw_distance", "length_closed_form", tol=1e-9),
          corrected="Confirmed (length = d_BW to 1e-15)."),
    Claim(id="dln.thm-4-3-7-constant", **_SRC, location="Thm 4.3.7, eq. 4.70",
          statement="The free-energy equilibrium is isotropic with σ = ((d − 1)/β)^{1/p} "
                    "(d = 10, p = 2, β = 1)",
          experiment="dln.entropy", params={"t_end": 60.0, "samples": 20},
          rule=Close("sigma_source_statement", "final_sigma_mean", tol=1e-6,
                     exact="sigma_theory"),
          corrected="σ = ((d − 1)/(2β))^{1/p} (the proof, 4.75, and Fig 4.5a: √4.5 = 2.121)."),
    Claim(id="dln.lemma-4-3-6-2", **_SRC, location="Lemma 4.3.6(2), eq. 4.56",
          statement="If σ_i > σ_j then g(σ_i, σ_j) > g(σ_j, σ_i), "
                    "g(a, b) = a/(a² − b²) − a⁻¹/(log a² − log b²)",
          experiment="dln.entropy-identities", params={"trials": 5},
          rule=AllHold("lemma_4_3_6_2_holds", source="g_2_1", measured="g_1_2"),
          corrected="Reversed: g(σ_i, σ_j) < g(σ_j, σ_i) (g(2, 1) = 0.306 < g(1, 2) = 0.388); "
                    "the proof of Thm 4.3.7 needs this direction."),
    Claim(id="dln.remark-2-1-3", **_SRC, location="Remark 2.1.3, eqs. 2.13–2.14",
          statement="A zero-centred Gaussian init with small variance begins near the "
                    "balanced manifold (relative imbalance ≤ 0.1; d = 5, N = 4, σ = 0.5)",
          experiment="dln.flow-check", params={"steps": 2},
          rule=ErrorBelow("gaussian_init_imbalance", tol=0.1),
          corrected="Only E[G_p] = 0: ‖W_pW_pᵀ − W_{p+1}ᵀW_{p+1}‖_F/‖W_pW_pᵀ‖_F ≈ 1 at any "
                    "scale; the imbalance is small only in absolute terms (O(σ²))."),
    Claim(id="dln.entropy-scaling", **_SRC, location="eqs. 4.31–4.32",
          statement="S_∞(aX) − S_∞(X) = C(d, 2) log a",
          experiment="dln.entropy-identities", params={"trials": 5},
          rule=Close("shift_theory", "shift_measured", tol=1e-9),
          corrected="Confirmed."),
]
