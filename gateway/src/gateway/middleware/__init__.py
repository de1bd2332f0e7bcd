"""The gateway's middleware, outermost first: recover → cors → routing → logger → auth →
rate limit, then :func:`gateway.routing.dispatch` runs the endpoint routing chose.

CORS is Starlette's ``CORSMiddleware``; the others are plain ASGI classes here.
"""

from gateway.middleware.auth import AuthMiddleware
from gateway.middleware.logger import LoggerMiddleware
from gateway.middleware.ratelimit import RateLimitMiddleware
from gateway.middleware.recover import RecoverMiddleware
from gateway.middleware.routing import RoutingMiddleware

__all__ = [
    "AuthMiddleware",
    "LoggerMiddleware",
    "RateLimitMiddleware",
    "RecoverMiddleware",
    "RoutingMiddleware",
]
