import math

import numpy as np
import pytest

from udfs.geo import haversine_km

# Great-circle distances on a 6371.0088 km sphere, computed independently with the
# spherical law of cosines; published city-pair figures agree within 0.5% (the Earth
# is not a sphere).
CITY_PAIRS = [
    ((40.7128, -74.0060), (34.0522, -118.2437), 3935.75),  # New York - Los Angeles
    ((51.5074, -0.1278), (48.8566, 2.3522), 343.56),  # London - Paris
    ((-33.8688, 151.2093), (-37.8136, 144.9631), 713.43),  # Sydney - Melbourne
    ((0.0, 0.0), (0.0, 180.0), math.pi * 6371.0088),  # half the equator
]


@pytest.mark.parametrize(("a", "b", "km"), CITY_PAIRS)
def test_known_city_distances(a, b, km):
    assert float(haversine_km(*a, *b)) == pytest.approx(km, abs=0.05)


def test_symmetric_and_zero():
    assert float(haversine_km(10, 20, 10, 20)) == 0.0
    assert float(haversine_km(10, 20, -30, 40)) == pytest.approx(float(haversine_km(-30, 40, 10, 20)))


def test_missing_coordinate_gives_nan_not_zero():
    out = haversine_km([40.0, np.nan], [-74.0, -74.0], [34.0, 34.0], [-118.0, np.nan])
    assert not math.isnan(out[0])
    assert math.isnan(out[1])


def test_vectorised_matches_scalar():
    rng = np.random.default_rng(0)
    lat1, lat2 = rng.uniform(-90, 90, (2, 50))
    lon1, lon2 = rng.uniform(-180, 180, (2, 50))
    vector = haversine_km(lat1, lon1, lat2, lon2)
    scalar = [float(haversine_km(*args)) for args in zip(lat1, lon1, lat2, lon2, strict=True)]
    assert np.allclose(vector, scalar)
