"""The gateway's middleware, outermost first: recover → cors → logger → auth → rate limit.

CORS is Starlette's ``CORSMiddleware``; the others are plain ASGI classes here.
"""

from gateway.middleware.auth import AuthMiddleware
from gateway.middleware.logger import LoggerMiddleware
from gateway.middleware.ratelimit import RateLimitMiddleware
from gateway.middleware.recover import RecoverMiddleware

__all__ = ["AuthMiddleware", "LoggerMiddleware", "RateLimitMiddleware", "RecoverMiddleware"]
