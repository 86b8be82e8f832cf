"""Claims of the kernel-maps part of the thesis draft (the kernel-sequence theorem, L3–107)."""

from matexplore import AllHold, AllOf, Claim, Close, SourceWithinSE

from ..sources import KERNEL_THESIS, source

_SRC = source(KERNEL_THESIS)
_THEOREM = "§New, kernel-sequence theorem"
_FAST = {"depth": 60, "pairs": 0}

CLAIMS = [
    Claim(id="kernel-maps.beta-a-bound", **_SRC, location=f"{_THEOREM}, case 1 (L10)",
          statement="κ(0) = 0 ⇒ |ρ_ℓ − ρ*| ≤ |ρ_0 − ρ*|/(1 − |ρ_0|)·β^ℓ with β = 1/κ'(1) "
                    "(checked for tanh, ρ_0 = 0.5)",
          experiment="kernel-maps.fixed-point", params={"activation": "tanh", **_FAST},
          rule=AllHold("bound_A_holds", source="beta_A", exact="kappa_prime_rho_star",
                       measured="beta_need"),
          corrected="The asymptotic rate is κ'(ρ*) = κ'(0) = c_1², which exceeds 1/κ'(1) "
                    "whenever c_1²·κ'(1) > 1 (tanh: 0.930 > 0.849); β = max{κ'(ρ*), …} or "
                    "β_need = sup R(ρ) is needed."),
    Claim(id="kernel-maps.beta-a-atlas", **_SRC, location=f"{_THEOREM}, cases 1–2 (L10–11)",
          statement="β_A (case 1: 1/κ'(1); case 2: max{1 − c_0², κ'(ρ*), 1/κ'(1)}) bounds "
                    "the kernel sequence of every activation, from every ρ_0",
          experiment="kernel-maps.atlas", params={"depth": 120},
          rule=AllHold("bound_A_violations", expect=0),
          corrected="Violated for tanh, erf and sin (odd activations with c_1²κ'(1) > 1); "
                    "holds for the others."),
    Claim(id="kernel-maps.beta-b-atlas", **_SRC, location=f"{_THEOREM}, end of proof (L84)",
          statement="β = max{1 − c_0², 1 − ρ*, κ'(ρ*)} bounds the kernel sequence of every "
                    "built-in activation, from every ρ_0",
          experiment="kernel-maps.atlas", params={"depth": 120},
          rule=AllOf((AllHold("bound_B_violations", expect=0),
                      AllHold("bound_kstar_violations", expect=0)), ("β_B", "β = κ'(ρ*)")),
          corrected="Confirmed for the built-in activations (ReLU/leaky ReLU have no β: "
                    "κ'(ρ*) = 1)."),
    Claim(id="kernel-maps.beta-b-cubic", **_SRC, location=f"{_THEOREM}, end of proof (L84)",
          statement="β = max{1 − c_0², 1 − ρ*, κ'(ρ*)} bounds every kernel sequence "
                    "(checked for κ(ρ) = ½ + ½ρ³ from ρ_0 = 0.999)",
          experiment="kernel-maps.fixed-point",
          params={"hermite_weights": [0.5, 0.0, 0.0, 0.5], "rho0": 0.999, **_FAST},
          rule=AllHold("bound_B_holds", source="beta_B", measured="beta_need"),
          corrected="The step |ρ_L−ρ*|/(1−ρ_L) ≤ … (L98) is not implied by κ'(ρ*) < 1 near "
                    "ρ = 1: use β_need = sup_ρ R(ρ) (0.75 here vs β_B = 0.573)."),
    Claim(id="kernel-maps.kstar-rate", **_SRC, location=f"{_THEOREM} (L5, L90)",
          statement="ρ_ℓ → ρ* geometrically at rate κ'(ρ*), and β = κ'(ρ*) bounds the "
                    "sequence (κ(ρ) = ½ + ½ρ³, ρ_0 = 0.999)",
          experiment="kernel-maps.fixed-point",
          params={"hermite_weights": [0.5, 0.0, 0.0, 0.5], "rho0": 0.999, **_FAST},
          rule=AllOf((Close("kappa_prime_rho_star", "rate_empirical", tol=1e-3),
                      AllHold("bound_kstar_holds")),
                     ("asymptotic rate", "bound with β = κ'(ρ*)")),
          corrected="The rate is κ'(ρ*) asymptotically, but the prefactor 1/(1 − |ρ_0|) "
                    "does not absorb the transient from ρ_0 near 1."),
    Claim(id="kernel-maps.finite-width", **_SRC, location="§New, kernel map definition (L3)",
          statement="ρ_{ℓ+1} = κ(ρ_ℓ) describes the correlation of two inputs through a "
                    "wide random network (tanh, width 512, 20 layers)",
          experiment="kernel-maps.fixed-point",
          params={"activation": "tanh", "depth": 20, "width": 512, "pairs": 64},
          rule=SourceWithinSE("rho_L_theory", "rho_L_mc", "rho_L_se"),
          corrected="Confirmed within 4 SE at width 512 (the deviation is O(1/√d) per "
                    "layer)."),
]
