"""The leadership dashboard (领导驾驶舱): one self-contained page over the stats and tickets APIs.

Every asset is served by this service from ``static/`` — no CDN, no outside fonts, charts drawn as
inline SVG — so the page works on a network with no internet access.
"""
from service.dashboard.views import router

__all__ = ["router"]
