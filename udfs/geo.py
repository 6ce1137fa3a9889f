"""Great-circle distance, vectorised: the streaming and backfill jobs call this one function."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the usual choice for haversine on a sphere."""

ArrayLike = npt.ArrayLike


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> npt.NDArray[np.float64]:
    """Distance in km between points given in degrees; NaN where any coordinate is missing.

    >>> round(float(haversine_km(40.7128, -74.0060, 34.0522, -118.2437)), 1)  # New York - Los Angeles
    3935.8
    >>> float(haversine_km(51.5, -0.12, 51.5, -0.12))
    0.0
    """
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
