"""Shadowing of a room's static radio paths by a moving body (pure numpy; used by :mod:`radiofm.synth.csi_har`).

Why it matters: a person standing in or near a path's first Fresnel zone attenuates it by several dB, slowly —
as fast as the body, a limb or the torso moves across the path (a few Hz at most), not at the Doppler of the
body's own echo. Device-free localisation by radio tomographic imaging rests on exactly this: a person on a
2.4 GHz link attenuates it by about 5–10 dB (Wilson & Patwari, "Radio tomographic imaging with wireless
networks", IEEE TMC 2010), more near either end of the link where the Fresnel zone is narrow. Because every
static path (line of sight, wall and floor reflections, furniture echoes) has its own delay, shadowing one
changes the frequency-selective sum of all of them differently on each subcarrier: the activity appears as a
slow, subcarrier-patterned change of the CSI amplitude that survives paper B's 2000 -> 224 time resize, while
the body's own echo (tens of Hz of Doppler) mostly averages out there.

Model [ours: a smooth stand-in for knife-edge diffraction, calibrated to the RTI figures above]:

- the body is a set of spheres: the 8 scatterers of :mod:`radiofm.synth.body_motion` plus a hip point halfway
  between the torso and the lower legs (so that the body is a column from the shins to the head while standing
  and a row on the floor once lying). Radius and peak loss per part in :data:`PART_RADIUS_M` and
  :data:`PART_DEPTH`; radii scale with the square root of the person's RCS scale (size).
- a static path is a polyline transmitter -> vertex -> receive antenna (the line of sight uses its midpoint as
  vertex). At each body sphere (centre c, radius r) and each leg of the path, the closest point of the leg lies
  at distance ``dist`` from c, at path distances ``d_a`` and ``d_b`` from the two ends; the first Fresnel radius
  there is ``F = sqrt(lambda d_a d_b / (d_a + d_b))`` (0.22 m in the middle of a 3.5 m link at 5.19 GHz).
- the path keeps the amplitude factor ``prod_parts (1 - L)`` with, per part, ``L = D * sqrt(r / (r + F)) *
  exp(-(dist / (r + F / 2))**2)`` taken at the nearer leg: a part centred on the path removes the fraction
  ``D sqrt(r / (r + F))`` of its amplitude (a big part in a narrow zone blocks most), and the effect fades
  within about ``r + F/2`` of it (knife-edge diffraction: an edge one Fresnel radius clear of the path costs
  about nothing). A standing person (torso, hips, arms) centred on the middle of a 3.5 m link: −10 dB; near
  the transmitter: −10.7 dB; 0.2 m off the link −7 dB, 0.4 m off −1.7 dB, 0.8 m off 0 dB
  (``tests/synth/test_body_shadow.py``); a hand alone crossing it about −2 dB.
- ``loss_scale`` (per recording, 0.7–1.0 in csi_har) scales every D: clothing, body water, posture.
"""

from __future__ import annotations

import numpy as np

# sphere radius (m) and peak amplitude loss D per shadowing part, for an average adult [ours]; order:
# torso, head, elbow_l, elbow_r, hand_l, hand_r, leg_l, leg_r (body_motion.PARTS), then the hip point
PART_RADIUS_M = np.array([0.20, 0.10, 0.06, 0.06, 0.05, 0.05, 0.07, 0.07, 0.18])
PART_DEPTH = np.array([0.9, 0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.6, 0.9])


def shadow_points(positions_m: np.ndarray) -> np.ndarray:
    """(8, T, 3) body_motion scatterers -> (9, T, 3) shadowing spheres' centres (adds the hip point)."""
    torso, legs = positions_m[0], positions_m[6:8].mean(0)
    return np.concatenate([positions_m, (0.5 * (torso + legs))[None]], 0)


def path_shadow(
    start_m: np.ndarray,
    vertex_m: np.ndarray,
    end_m: np.ndarray,
    centres_m: np.ndarray,
    *,
    wavelength_m: float,
    size_scale: float = 1.0,
    loss_scale: float = 1.0,
    radius_m: np.ndarray = PART_RADIUS_M,
    depth: np.ndarray = PART_DEPTH,
) -> np.ndarray:
    """Amplitude factor in (0, 1] of each static path at each time.

    Args:
        start_m: (3,) transmitter.
        vertex_m: (P, A, 3) each path's reflection/scattering point (for a straight path: any point on it).
        end_m: (A, 3) receive antennas.
        centres_m: (M, T, 3) centres of the shadowing spheres (see :func:`shadow_points`).
        wavelength_m: carrier wavelength.
        size_scale: the person's RCS scale; sphere radii scale with its square root.
        loss_scale: multiplies every part's peak loss (per recording).

    Returns:
        float32 (P, A, T).
    """
    n_p, n_a = vertex_m.shape[:2]
    radius = np.asarray(radius_m, np.float64) * np.sqrt(size_scale)  # (M,)
    peak = np.clip(np.asarray(depth, np.float64) * loss_scale, 0.0, 0.99)  # (M,)
    begin = np.broadcast_to(np.asarray(start_m, np.float64), (n_p, n_a, 3))
    finish = np.broadcast_to(np.asarray(end_m, np.float64)[None], (n_p, n_a, 3))
    leg1 = np.linalg.norm(vertex_m - begin, axis=-1)  # (P, A)
    total = leg1 + np.linalg.norm(finish - vertex_m, axis=-1)
    keep = np.ones((n_p, n_a, centres_m.shape[1]))
    legs = ((begin, vertex_m, np.zeros((n_p, n_a))), (vertex_m, finish, leg1))
    for m in range(len(centres_m)):
        block = np.zeros_like(keep)  # the part's loss on this path: the larger of its two legs'
        for a0, a1, offset in legs:
            v = a1 - a0  # (P, A, 3)
            length = np.sqrt(np.maximum((v * v).sum(-1), 1e-12))[..., None]  # (P, A, 1)
            w = centres_m[m][None, None] - a0[:, :, None]  # (P, A, T, 3)
            s = np.clip((w * v[:, :, None]).sum(-1) / length**2, 0.0, 1.0)  # (P, A, T) along the leg
            dist = np.linalg.norm(w - s[..., None] * v[:, :, None], axis=-1)
            d_a = offset[..., None] + s * length
            d_b = np.maximum(total[..., None] - d_a, 0.0)
            fresnel = np.sqrt(wavelength_m * d_a * d_b / total[..., None])  # first Fresnel zone radius, m
            reach = radius[m] + 0.5 * fresnel
            loss = peak[m] * np.sqrt(radius[m] / (radius[m] + fresnel)) * np.exp(-((dist / reach) ** 2))
            np.maximum(block, loss, out=block)
        keep *= 1.0 - block
    return keep.astype(np.float32)


__all__ = ["PART_DEPTH", "PART_RADIUS_M", "path_shadow", "shadow_points"]
