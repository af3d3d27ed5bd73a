"""gunicorn's production settings for PrepBase (README, "Deploying").

    gunicorn -c gunicorn.conf.py wsgi:app

gunicorn also reads this file by itself when started in this directory without `-c`.
Flags on the command line win over it (`make run` binds to 127.0.0.1:5000 with two
workers). Each value below that comes from the environment says so.
"""

import os

# Where to listen; behind a TLS proxy on the same host, e.g. 127.0.0.1:8000.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Sync workers: each handles one request at a time with its own database connection;
# the app keeps no state in the process, so workers (and machines) can be added freely.
# WEB_CONCURRENCY sets how many; by default gunicorn's advice of 2 × cores + 1.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)

# A request still running after `timeout` seconds has its worker killed and restarted
# (the transaction is rolled back). On a restart or a deploy (SIGHUP/SIGTERM) a worker
# gets `graceful_timeout` seconds to finish what it is doing.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
# A little longer than the proxy in front keeps idle connections to us.
keepalive = 5

# Each worker is replaced after about a thousand requests (the jitter spreads the
# restarts), so a slow leak never grows for long.
max_requests = 1000
max_requests_jitter = 100

# Access log on stdout, one line per request: time, the request id (the response's
# X-Request-ID, as in the app's own log line), method, the path with a link's secret
# masked (set by prepbase/request_log.py; no query string), status, bytes, duration.
# No client address and no user agent: the app's line has the tenant and user ids.
accesslog = "-"
access_log_format = '%(t)s %({x-request-id}o)s "%(m)s %({prepbase.path}e)s" %(s)s %(B)s %(M)sms'
# gunicorn's own messages (starts, stops, killed workers) on stderr.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The proxies whose X-Forwarded-Proto gunicorn believes (the app's TRUSTED_PROXIES
# decides for X-Forwarded-For/-Host): the proxy's address, or "*" when only the proxy
# can reach this port.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# No control socket (gunicorn 25.1+ opens one in $HOME for `gunicornc`; we do not use it).
control_socket_disable = True

# The heartbeat file of each worker on a memory file system, where there is one (a
# container's /tmp on disk can stall the heartbeat and get workers killed); gunicorn
# makes its own private file there.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108
