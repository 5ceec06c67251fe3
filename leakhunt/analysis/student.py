"""Two-sided 95 % critical values of Student's t, without importing scipy.stats.

Why not scipy: importing scipy.stats costs a watch about 70 MB of RSS (scipy.special alone
about 25 MB), and the live view refits the growth as it samples, so the fit must stay light.
Degrees of freedom here are whole numbers (points less two, or a count of steps). Up to
TABLE_DOF the values are the exact quantiles, as scipy.stats.t.ppf(0.975, dof) gives them; above
it, the Cornish-Fisher expansion in 1/dof (Abramowitz & Stegun 26.7.5), within 1e-7 of them.
tests/analysis/test_student.py checks both against scipy.stats for every dof up to 10,000.
"""

# t.ppf(0.975, dof) for dof = 1 .. 30.
_T975 = (
    12.706204736174694, 4.302652729749462, 3.1824463052837078, 2.7764451051977934,
    2.5705818356363146, 2.4469118511449786, 2.364624251592784, 2.306004135204166, 2.262157162798205,
    2.228138851986274, 2.200985160091639, 2.1788128296672284, 2.1603686564627913, 2.144786687917804,
    2.131449545559776, 2.1199052992212546, 2.1098155778333156, 2.1009220402410382,
    2.0930240544083087, 2.085963447265864, 2.0796138447276795, 2.0738730679040254,
    2.0686576104190486, 2.0638985616280245, 2.0595385527532972, 2.0555294386428735,
    2.0518305164802846, 2.0484071417952454, 2.045229642132703, 2.0422724563012378,
)  # fmt: skip
TABLE_DOF = len(_T975)
_Z975 = 1.959963984540054  # the normal quantile at 0.975


def t_critical_95(dof: int) -> float:
    """The half-width multiplier of a two-sided 95 % interval with `dof` degrees of freedom."""
    if dof < 1 or dof != int(dof):
        raise ValueError(f"degrees of freedom must be a whole number >= 1, got {dof}")
    if dof <= TABLE_DOF:
        return _T975[int(dof) - 1]
    z, nu = _Z975, float(dof)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / nu + g2 / nu**2 + g3 / nu**3 + g4 / nu**4
