"""The client: a signed-in HTTP session with Filament, its errors typed, and the calls that are
not about one project (accounts, tokens, jobs, the project list)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from filament_client import config, routes
from filament_client.errors import FilamentTimeout, JobFailed, error_for, retry_after
from filament_client.models import ApiToken, Job, Upload, User
from filament_client.project import Project
from filament_client.routes import Route

__version__ = "0.1.0"
IDEMPOTENT = frozenset({"GET", "HEAD"})


class Client:
    """A connection to one Filament server.

    >>> client = Client("http://127.0.0.1:8000", token="fil_...")   # a personal API token
    >>> client = Client.login("http://127.0.0.1:8000", "ann@example.com", "password")
    >>> client = Client.from_env()   # FILAMENT_URL / FILAMENT_TOKEN, or `filament login`'s file

    `http` replaces the underlying `httpx.Client` (a proxy, custom TLS, or a test client).
    GET requests answered 503 (database or Redis briefly away) are retried `retries` times
    after the server's Retry-After.
    """

    def __init__(
        self,
        url: str = config.DEFAULT_URL,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/").removesuffix(routes.API_PREFIX)
        self.retries = retries
        self._own_http = http is None
        self.http = http or httpx.Client(base_url=self.url, timeout=timeout)
        self.http.headers["User-Agent"] = f"filament-client/{__version__}"
        self.token = token
        self.timeout = timeout
        self._storage: httpx.Client | None = None

    @property
    def token(self) -> str | None:
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        self._token = value
        if value:
            self.http.headers["Authorization"] = f"Bearer {value}"
        else:
            self.http.headers.pop("Authorization", None)

    # --- connecting -----------------------------------------------------------------------

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None, **options: Any) -> Client:
        """FILAMENT_URL and FILAMENT_TOKEN, else what `filament login` saved."""
        found = config.resolve(url, token)
        return cls(found.url, found.token, **options)

    @classmethod
    def login(cls, url: str, email: str, password: str, **options: Any) -> Client:
        """Sign in with a password; the session token lasts FILAMENT_TOKEN_MINUTES (a working
        day by default): scripts that run unattended should use a personal API token."""
        client = cls(url, **options)
        client.sign_in(email, password)
        return client

    def sign_in(self, email: str, password: str) -> None:
        answer = self.call(routes.TOKEN, data={"username": email, "password": password})
        self.token = answer.json()["access_token"]

    def register(self, email: str, password: str, name: str = "") -> User:
        """Create an account (where registration is open); sign in afterwards."""
        body = {"email": email, "password": password, "name": name}
        return User.from_json(self.call(routes.REGISTER, json=body).json())

    def me(self) -> User:
        return User.from_json(self.call(routes.ME).json())

    def create_api_token(self, name: str, expires_in_days: int | None = None) -> ApiToken:
        """A personal API token (`fil_...`) for scripts; its secret is in this answer only."""
        body: dict[str, Any] = {"name": name}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return ApiToken.from_json(self.call(routes.CREATE_API_TOKEN, json=body).json())

    def revoke_api_token(self, token_id: int) -> None:
        self.call(routes.REVOKE_API_TOKEN, token_id=token_id)

    # --- projects and jobs ----------------------------------------------------------------

    def projects(self) -> list[Project]:
        return [Project(self, entry) for entry in self.call(routes.PROJECTS).json()["data"]]

    def project(self, project_id: int) -> Project:
        return Project(self, self.call(routes.PROJECT, project_id=project_id).json())

    def create_project(self, name: str, task: str, labels: list[str], **settings: Any) -> Project:
        """`task`: text_classification, image_classification or image_multilabel; `settings`:
        any other field of ProjectCreate (strategy, annotations_per_item, backbone, ...)."""
        body = {"name": name, "task": task, "labels": list(labels), **settings}
        return Project(self, self.call(routes.CREATE_PROJECT, json=body).json())

    def job(self, job_id: int) -> Job:
        return Job.from_json(self.call(routes.JOB, job_id=job_id).json())

    def wait_for_job(
        self,
        job: int | Job | Upload,
        *,
        timeout: float = 600.0,
        poll: float = 0.5,
        on_progress: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll a job until it ends; its last state, or JobFailed if it failed or was
        cancelled, or FilamentTimeout."""
        job_id = job.job_id if isinstance(job, Upload) else job.id if isinstance(job, Job) else job
        deadline = time.monotonic() + timeout
        while True:
            current = self.job(job_id)
            if on_progress is not None:
                on_progress(current)
            if current.finished:
                if current.status != "done":
                    raise JobFailed(current)
                return current
            if time.monotonic() > deadline:
                raise FilamentTimeout(f"job {job_id} still {current.status} after {timeout:.0f} s")
            time.sleep(poll)

    # --- HTTP -----------------------------------------------------------------------------

    def call(self, route: Route, **kwargs: Any) -> httpx.Response:
        """One of the SDK's routes; path parameters by name, the rest as for `request`."""
        names = {key for key in kwargs if "{" + key + "}" in route.path}
        path = route.format(**{key: kwargs.pop(key) for key in names})
        return self.request(route.method, path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any API route (`path` under /api/v1, or absolute); FilamentError for 4xx/5xx."""
        url = _url(path)
        for attempt in range(self.retries + 1):
            response = self.http.request(method, url, **kwargs)
            if response.status_code == 503 and method in IDEMPOTENT and attempt < self.retries:
                time.sleep(min(retry_after(response) or 1.0, 30.0))
                continue
            if response.status_code >= 400:
                raise error_for(response)
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A response whose body is read as it arrives (exports, archives). Its status is for
        the caller to check: a 202 is not an error."""
        with self.http.stream(method, _url(path), **kwargs) as response:
            if response.status_code >= 400:
                response.read()
                raise error_for(response)
            yield response

    # the object storage's presigned URLs (S3): another origin, never sent the token
    def storage_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self._storage_http().request(method, url, **kwargs)
        if response.status_code >= 400:
            raise error_for(response)
        return response

    @contextmanager
    def storage_stream(self, method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
        with self._storage_http().stream(method, url, **kwargs) as response:
            if response.status_code >= 400:
                response.read()
                raise error_for(response)
            yield response

    def _storage_http(self) -> httpx.Client:
        if self._storage is None:
            self._storage = httpx.Client(timeout=self.timeout)
        return self._storage

    def close(self) -> None:
        if self._own_http:
            self.http.close()
        if self._storage is not None:
            self._storage.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _url(path: str) -> str:
    """A path under /api/v1 (`/projects`), a full API path, or an absolute URL."""
    if path.startswith(("http://", "https://", routes.API_PREFIX + "/")):
        return path
    return routes.API_PREFIX + path
