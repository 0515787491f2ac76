"""Body motion of the six NTU-Fi HAR activities as moving point scatterers (pure numpy, explicit generator).

A person is eight point reflectors that carry most of the body's radar cross-section at 5 GHz: torso, head,
two upper arms ("elbow", the mid-point of shoulder and hand), two forearm/hand and two lower legs. Each
activity moves them along a kinematic model of that activity; the CSI model
(:mod:`radiofm.synth.csi_har`) turns their paths into time-varying multipath with Doppler.

World frame: x, y horizontal (m), z up, floor at z = 0. A body-frame offset is (fwd, left, up) relative to
the person's ground point and heading. All randomness comes from the ``rng`` passed in.

Activities and what separates them (``motion(...)["meta"]`` records every drawn value):

- ``walk``: back-and-forth along a 2–3.5 m line at 0.7–1.7 m/s, step cadence 1.5–2.1 Hz; legs swing
  ±step_length/2 in anti-phase, arms counter-swing 0.12–0.25 m, torso bobs 2–4 cm at the step rate; the
  person slows into each turn and stride amplitude and cadence follow the speed. Given the link direction
  (``link_rad``), the line runs across the link (crossing it: the body shadows the line of sight once per
  pass) or along it (beside it, clear of the routers: ``along_max_m``), each with probability 0.5, within
  ±25° [ours: NTU-Fi's subject moves between the routers]. These crossings and the legs' and arms' passes
  through the static paths are walking's slow signature (0.3–2 Hz) in the CSI amplitude.
- ``run``: the same gait at 1.3–2.6 m/s (running in a room, with turns every 1–3 s), cadence 2.3–3.1 Hz,
  longer arm swing with bent elbows, 5–9 cm bounce, forward lean. Walk and run overlap in speed
  (1.3–1.7 m/s) and the Doppler a speed produces depends on the direction of the line relative to the link
  (none for motion along the link itself), so neither speed nor Doppler alone separates them: cadence,
  bounce and limb swing do too (paper B's Fig. 7 confuses these two).
- ``fall``: standing with sway, then one fall at 0.8–2.6 s: the body rotates about the feet by 75–90° with
  accelerating angle (inverted pendulum, α ∝ u²) reaching 2.5–4.2 rad/s at impact (a rigid body toppling
  reaches √(3g/height) ≈ 4.1 rad/s), so 0.6–1.3 s; arms brace, a damped bounce on impact, then lying still
  (breathing). One fast transient (head ≈ 4–7.5 m/s at impact), then a lasting change: lying, the body no
  longer shadows the paths at torso height, shadows those near the floor, and scatters from a new place.
- ``box``: standing guard, alternating straight punches (0.30–0.45 m reach, 0.7–1.4 punches/s per arm,
  ±15 % per-punch timing jitter), fast extension, slower retraction, footwork bounce 1.5–2.5 Hz, stepping in
  and out by 5–15 cm at 0.3–0.8 Hz [ours: boxers' footwork]; the punches cross paths at 1.4–2.8 Hz (both arms).
- ``circle``: straight arms (0.5–0.7 m) circling in the sagittal plane at 0.6–1.3 rev/s, both arms in or out of
  phase, forwards or backwards, tempo wander; hand speed 2–5.5 m/s, a periodic sinusoidal Doppler.
- ``clean``: bent over, hands sweeping a mop/cloth 0.2–0.45 m side to side at 0.3–0.8 Hz with tempo
  modulation while working along the floor at 0.05–0.15 m/s in a random direction plus a 5 cm shuffle: slow,
  low-Doppler motion; the bent body and low hands shadow the floor reflection and low paths.

Every activity adds breathing (4–8 mm at 0.2–0.4 Hz on the torso) and a few millimetres of smooth postural
jitter on every part. Radar cross-sections are [ours]: a standing adult is ≈ 0.5–1 m² at microwave
frequencies, shared as listed in :data:`PART_RCS_M2`, scaled per person by size.
"""

from __future__ import annotations

import numpy as np

ACTIVITIES = ("box", "circle", "clean", "fall", "run", "walk")  # sorted, as the NTU-Fi class folders
PARTS = ("torso", "head", "elbow_l", "elbow_r", "hand_l", "hand_r", "leg_l", "leg_r")
# radar cross-section of each part for an average adult, m^2 [ours: order of magnitude of human RCS at 5 GHz]
PART_RCS_M2 = np.array([0.6, 0.08, 0.04, 0.04, 0.04, 0.04, 0.06, 0.06])
_SIDE = {"l": 1.0, "r": -1.0}  # left is +left in the body frame
ACROSS_PROBABILITY = 0.5  # walking/running lines: across the link (crossing it) or along it [ours]
LINE_SPREAD_RAD = np.radians(25)  # spread of the line's direction around across/along [ours]


def motion(
    activity: str,
    t_s: np.ndarray,
    rng: np.random.Generator,
    *,
    anchor_xy,
    bounds_xy,
    link_rad: float | None = None,
    along_max_m: float | None = None,
) -> dict:
    """Scatterer trajectories of one recording of ``activity``.

    Args:
        activity: one of :data:`ACTIVITIES`.
        t_s: (T,) sample times in seconds.
        rng: the generator every random draw comes from.
        anchor_xy: (2,) where the activity happens (m); walking lines are centred here.
        bounds_xy: ((x_lo, x_hi), (y_lo, y_hi)) the region the person stays in (room minus a margin).
        link_rad: direction of the radio link (rad), when known: walking and running lines then run across it
            or along it (see the module doc); None: in any direction.
        along_max_m: the longest walking line along the link (so that it stays clear of the routers).

    Returns:
        {"positions_m": (M, T, 3) float64, "rcs_m2": (M,) float64, "parts": PARTS, "meta": dict of drawn values}.
    """
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}; expected one of {', '.join(ACTIVITIES)}")
    t = np.asarray(t_s, dtype=np.float64)
    height = rng.uniform(1.55, 1.90)  # person height, m
    size = rng.uniform(0.75, 1.3) * (height / 1.75) ** 2  # RCS scale: build and clothing
    meta = {"activity": activity, "height_m": height, "rcs_scale": size}
    heading = rng.uniform(-np.pi, np.pi)  # facing direction (rad); walking lines run along it
    if activity in ("walk", "run") and link_rad is not None:
        across = bool(rng.random() < ACROSS_PROBABILITY)
        heading = link_rad + (np.pi / 2 if across else 0.0) + rng.uniform(-1, 1) * LINE_SPREAD_RAD
        heading += np.pi if rng.random() < 0.5 else 0.0
        meta["line"] = "across" if across else "along"
    pose = _standing(height, len(t))
    meta.update(heading_rad=heading)
    base = np.zeros((len(t), 2))  # ground point in the body frame's (fwd, left) axes, m
    if activity in ("walk", "run"):
        longest = along_max_m if meta.get("line") == "along" else None
        meta.update(_gait(pose, base, t, height, rng, run=activity == "run", longest_m=longest))
    else:
        meta.update(_ACTIVITY[activity](pose, base, t, height, rng))
    _breathe_and_jitter(pose, t, rng)
    positions = _to_world(pose, base, heading, np.asarray(anchor_xy, dtype=np.float64))
    lo = np.array([b[0] for b in bounds_xy])
    hi = np.array([b[1] for b in bounds_xy])
    positions[..., :2] = np.clip(positions[..., :2], lo, hi)
    positions[..., 2] = np.maximum(positions[..., 2], 0.03)
    return {"positions_m": positions, "rcs_m2": PART_RCS_M2 * size, "parts": PARTS, "meta": _rounded(meta)}


# ----------------------------------------------------------------------------------------------- pose helpers
def _standing(h: float, n: int) -> dict[str, np.ndarray]:
    """Neutral standing pose: part -> (T, 3) body-frame offsets (fwd, left, up) in m."""
    rest = {
        "torso": (0.0, 0.0, 0.60 * h),
        "head": (0.0, 0.0, 0.93 * h),
        "hand_l": (0.02, 0.22, 0.46 * h),
        "hand_r": (0.02, -0.22, 0.46 * h),
        "leg_l": (0.0, 0.10, 0.25 * h),
        "leg_r": (0.0, -0.10, 0.25 * h),
    }
    pose = {k: np.tile(np.array(v, dtype=np.float64), (n, 1)) for k, v in rest.items()}
    pose["shoulder_l"] = np.tile([0.0, 0.19, 0.82 * h], (n, 1))
    pose["shoulder_r"] = np.tile([0.0, -0.19, 0.82 * h], (n, 1))
    return pose


def _smooth(rng: np.random.Generator, t: np.ndarray, std: float, max_hz: float, n_sines: int = 4) -> np.ndarray:
    """Smooth random wander: a sum of ``n_sines`` sinusoids below ``max_hz`` with total std ``std``. (T,)."""
    f = rng.uniform(0.05, max_hz, n_sines)
    ph = rng.uniform(0, 2 * np.pi, n_sines)
    return std * np.sqrt(2.0 / n_sines) * np.sin(2 * np.pi * f[:, None] * t[None] + ph[:, None]).sum(0)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _breathe_and_jitter(pose: dict, t: np.ndarray, rng: np.random.Generator) -> None:
    pose["torso"][:, 0] += rng.uniform(0.004, 0.008) * np.sin(2 * np.pi * rng.uniform(0.2, 0.4) * t + rng.uniform(0, 6))
    for name in PARTS[:2] + PARTS[4:]:
        for axis in range(3):
            pose[name][:, axis] += _smooth(rng, t, 0.003, 1.5, n_sines=3)


def _to_world(pose: dict, base: np.ndarray, heading: float, anchor: np.ndarray) -> np.ndarray:
    """Body-frame pose + ground path -> (M, T, 3) world positions; elbows at mid shoulder-hand."""
    for s in "lr":
        pose[f"elbow_{s}"] = 0.5 * (pose[f"shoulder_{s}"] + pose[f"hand_{s}"])
    fwd = np.array([np.cos(heading), np.sin(heading)])
    left = np.array([-np.sin(heading), np.cos(heading)])
    out = np.empty((len(PARTS), len(base), 3))
    for m, name in enumerate(PARTS):
        p = pose[name]
        rel = (base[:, 0] + p[:, 0])[:, None] * fwd + (base[:, 1] + p[:, 1])[:, None] * left
        out[m, :, :2] = anchor + rel
        out[m, :, 2] = p[:, 2]
    return out


def _rounded(meta: dict) -> dict:
    return {k: round(float(v), 4) if isinstance(v, float | np.floating) else v for k, v in meta.items()}


# ----------------------------------------------------------------------------------------------- activities
def _gait(pose, base, t, h, rng, *, run: bool, longest_m: float | None = None) -> dict:
    speed = rng.uniform(1.3, 2.6) if run else rng.uniform(0.7, 1.7)  # nominal speed, m/s (overlapping)
    cadence = rng.uniform(2.3, 3.1) if run else rng.uniform(1.5, 2.1)  # steps per second, Hz
    length = rng.uniform(2.0, 3.5)  # walking line, m (turns at both ends)
    length = length if longest_m is None else min(length, max(longest_m, 0.8))
    k = 0.97  # rounds the back-and-forth triangle wave: the person slows into each turn
    theta = np.pi * speed * t / length + rng.uniform(0, 2 * np.pi)
    s = 0.5 * length * np.arcsin(k * np.sin(theta)) / np.arcsin(k)  # position along the line, m
    vel = np.gradient(s, t)  # signed speed, m/s
    rel = vel / speed  # signed normalised speed: stride amplitude follows it through the turns
    phase = rng.uniform(0, 2 * np.pi) + np.pi * cadence * np.cumsum(np.abs(rel)) * (t[1] - t[0])
    step = speed / cadence  # step length, m
    bounce = rng.uniform(0.05, 0.09) if run else rng.uniform(0.02, 0.04)  # torso bounce, m
    arm = rng.uniform(0.25, 0.35) if run else rng.uniform(0.12, 0.25)  # hand swing amplitude, m
    lift = 0.15 if run else 0.05  # lower-leg lift in swing, m
    base[:, 0] = s
    gain = np.abs(rel)
    for part in ("torso", "head"):
        pose[part][:, 2] += bounce * np.cos(2 * phase) * gain - (0.04 if run else 0.0)
        pose[part][:, 0] += (0.10 if run else 0.03) * rel  # lean into the motion
    for s_name, off in (("l", 0.0), ("r", np.pi)):
        leg = pose[f"leg_{s_name}"]
        leg[:, 0] += rel * 0.5 * step * np.sin(phase + off)
        leg[:, 2] += lift * np.maximum(0.0, np.cos(phase + off)) * gain
        hand = pose[f"hand_{s_name}"]
        hand[:, 0] += -rel * arm * np.sin(phase + off)  # counter-swing to the leg on the same side
        hand[:, 2] += (0.13 * h if run else 0.0) + 0.3 * arm * gain * np.abs(np.sin(phase + off))
    return {"speed_mps": speed, "cadence_hz": cadence, "line_m": length, "mean_speed_mps": float(np.abs(vel).mean())}


def _fall(pose, base, t, h, rng) -> dict:
    onset = rng.uniform(0.8, 2.6)  # s
    angle = rng.uniform(np.radians(75), np.radians(90))  # final tilt of the body axis, rad
    # angular speed at impact: a rigid body toppling from standing reaches sqrt(3 g / height) ≈ 4.1 rad/s;
    # knees buckling and bracing slow it. With α ∝ u², the fall lasts 2·angle/ω.
    omega = rng.uniform(2.5, 4.2)  # rad/s
    duration = 2 * angle / omega  # 0.6–1.3 s
    direction = rng.uniform(-np.pi, np.pi)  # fall direction in the body frame, rad
    for axis in (0, 1):  # standing sway before the fall
        base[:, axis] += _smooth(rng, t, 0.015, 0.6)
    u = (t - onset) / duration
    alpha = angle * np.clip(u, 0.0, 1.0) ** 2  # accelerating rotation, stops at impact
    after = np.maximum(t - onset - duration, 0.0) * (u >= 1)
    impact = 0.02 * np.exp(-after / 0.15) * np.sin(2 * np.pi * 6.0 * after)  # damped bounce, m
    brace = _smoothstep(u * 1.3)  # arms reach out to break the fall
    c, s = np.cos(direction), np.sin(direction)
    for name in ("torso", "head", "hand_l", "hand_r", "leg_l", "leg_r", "shoulder_l", "shoulder_r"):
        p = pose[name]
        if name.startswith("hand"):
            p[:, 0] += 0.35 * brace * c
            p[:, 1] += 0.35 * brace * s
            p[:, 2] += 0.25 * h * brace
        along = p[:, 0] * c + p[:, 1] * s
        across = -p[:, 0] * s + p[:, 1] * c
        z = p[:, 2]
        along2 = along * np.cos(alpha) + z * np.sin(alpha)
        z2 = np.maximum(-along * np.sin(alpha) + z * np.cos(alpha), 0.08) + impact
        p[:, 0] = along2 * c - across * s
        p[:, 1] = along2 * s + across * c
        p[:, 2] = z2
    return {
        "onset_s": onset,
        "duration_s": duration,
        "tilt_rad": angle,
        "impact_rad_s": omega,
        "direction_rad": direction,
    }


def _box(pose, base, t, h, rng) -> dict:
    reach = rng.uniform(0.30, 0.45)  # punch extension, m
    rate = rng.uniform(0.7, 1.4)  # punches per second per arm, Hz
    footwork = rng.uniform(1.5, 2.5)  # bounce rate, Hz
    for s_name, start in (("l", 0.0), ("r", 0.5 / rate)):
        periods = np.clip(1.0 / rate * (1 + 0.15 * rng.standard_normal(int(t[-1] * rate) + 4)), 0.35, None)
        starts = start - periods[0] + np.concatenate([[0.0], np.cumsum(periods)[:-1]])  # cycle i lasts periods[i]
        idx = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
        u = (t - starts[idx]) / periods[idx]  # phase within the current punch cycle
        ext = np.where(u < 0.28, _smoothstep(u / 0.2), 1.0 - _smoothstep((u - 0.28) / 0.32))
        hand = pose[f"hand_{s_name}"]
        hand[:] = [0.28, _SIDE[s_name] * 0.16, 0.78 * h]  # guard
        hand[:, 0] += reach * ext
        hand[:, 1] -= _SIDE[s_name] * 0.06 * ext  # punches converge to the centre line
        pose["torso"][:, 0] += 0.03 * ext
    shuffle = rng.uniform(0.3, 0.8)  # stepping in and out, Hz
    in_out = rng.uniform(0.05, 0.15)  # its amplitude, m
    base[:, 0] += in_out * np.sin(2 * np.pi * shuffle * t + rng.uniform(0, 6))
    bounce = 0.015 * np.sin(2 * np.pi * footwork * t + rng.uniform(0, 6))
    for name in ("torso", "head", "shoulder_l", "shoulder_r"):
        pose[name][:, 2] += bounce
    for s_name, off in (("l", 0.0), ("r", np.pi)):
        pose[f"leg_{s_name}"][:, 0] += 0.05 * np.sin(np.pi * footwork * t + off)
    return {"reach_m": reach, "punch_rate_hz": rate, "footwork_hz": footwork, "in_out_m": in_out, "in_out_hz": shuffle}


def _circle(pose, base, t, h, rng) -> dict:
    rate = rng.uniform(0.6, 1.3)  # revolutions per second, Hz
    radius = rng.uniform(0.5, 0.7)  # arm length, m
    in_phase = bool(rng.random() < 0.5)
    sense = 1.0 if rng.random() < 0.5 else -1.0  # forwards or backwards
    theta = sense * (2 * np.pi * rate * t + _smooth(rng, t, 0.3, 0.3)) + rng.uniform(0, 2 * np.pi)
    for s_name in "lr":
        th = theta + (0.0 if in_phase or s_name == "l" else np.pi)
        sh = pose[f"shoulder_{s_name}"]
        hand = pose[f"hand_{s_name}"]
        hand[:, 0] = sh[:, 0] + radius * np.sin(th)
        hand[:, 1] = sh[:, 1] + _SIDE[s_name] * 0.06
        hand[:, 2] = sh[:, 2] - radius * np.cos(th)
    pose["torso"][:, 0] += 0.02 * np.sin(theta)
    return {"rate_hz": rate, "arm_m": radius, "in_phase": in_phase, "forward": sense > 0}


def _clean(pose, base, t, h, rng) -> dict:
    sweep = rng.uniform(0.2, 0.45)  # side-to-side amplitude of the hands, m
    rate = rng.uniform(0.3, 0.8)  # sweeps per second, Hz (hand speed ≤ 2.3 m/s)
    phase = 2 * np.pi * rate * t + rng.uniform(0.1, 0.6) * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t)
    drift = rng.uniform(0.05, 0.15)  # the person works along the floor, m/s
    angle = rng.uniform(-np.pi, np.pi)
    for axis, w in ((0, np.cos(angle)), (1, np.sin(angle))):  # slow progression plus shuffle
        base[:, axis] += w * drift * (t - t.mean()) + _smooth(rng, t, 0.05, 0.1, n_sines=3)
    pose["torso"][:, 0] += 0.15
    pose["torso"][:, 2] = 0.50 * h
    pose["head"][:, 0] += 0.30
    pose["head"][:, 2] = 0.74 * h
    for name in ("shoulder_l", "shoulder_r"):
        pose[name][:, 0] += 0.25
        pose[name][:, 2] = 0.68 * h
    for s_name, dz in (("l", 0.12), ("r", 0.0)):
        hand = pose[f"hand_{s_name}"]
        hand[:, 0] = 0.50 + 0.08 * np.cos(phase)
        hand[:, 1] = sweep * np.sin(phase) + _SIDE[s_name] * 0.05
        hand[:, 2] = 0.33 * h + dz + 0.04 * np.sin(2 * phase)
    for s_name in "lr":
        pose[f"leg_{s_name}"][:, 0] += 0.04 * np.sin(phase / 2 + (0 if s_name == "l" else np.pi))
    return {"sweep_m": sweep, "sweep_rate_hz": rate, "drift_mps": drift}


_ACTIVITY = {"box": _box, "circle": _circle, "clean": _clean, "fall": _fall}  # walk, run: _gait

__all__ = ["ACTIVITIES", "PARTS", "PART_RCS_M2", "motion"]
