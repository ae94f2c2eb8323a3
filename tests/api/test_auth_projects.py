from tests.conftest import add_member, register


def test_register_login_and_me(client):
    created = client.post(
        "/api/v1/auth/register", json={"email": "Zed@Example.com", "password": "long enough 1"}
    )
    assert created.status_code == 201
    assert created.json()["email"] == "zed@example.com"
    again = client.post(
        "/api/v1/auth/register", json={"email": "zed@example.com", "password": "long enough 1"}
    )
    assert again.status_code == 409
    wrong = client.post("/api/v1/auth/token", data={"username": "zed@example.com", "password": "x"})
    assert wrong.status_code == 401
    headers = register(client, "zed@example.com", "long enough 1")
    assert client.get("/api/v1/users/me", headers=headers).json()["email"] == "zed@example.com"


def test_missing_or_bad_token_is_401(client):
    assert client.get("/api/v1/projects").status_code == 401
    bad = client.get("/api/v1/projects", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert "detail" in bad.json()


def test_personal_api_tokens(client, owner):
    made = client.post("/api/v1/users/me/tokens", headers=owner, json={"name": "script"})
    assert made.status_code == 201
    token = made.json()["token"]
    script = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users/me", headers=script).status_code == 200
    listed = client.get("/api/v1/users/me/tokens", headers=owner).json()
    assert [t["name"] for t in listed["data"]] == ["script"]
    assert "token" not in listed["data"][0]
    client.delete(f"/api/v1/users/me/tokens/{made.json()['id']}", headers=owner)
    assert client.get("/api/v1/users/me", headers=script).status_code == 401


def _project(client, headers, **extra):
    body = {"name": "P", "task": "image_classification", "labels": ["cat", "dog"], **extra}
    return client.post("/api/v1/projects", headers=headers, json=body)


def test_project_roles(client, owner):
    pid = _project(client, owner).json()["id"]
    annotator = add_member(client, owner, pid, "a@example.com", "annotator")
    viewer = add_member(client, owner, pid, "v@example.com", "viewer")
    stranger = register(client, "s@example.com")
    # a stranger sees nothing, not even that the project exists
    assert client.get(f"/api/v1/projects/{pid}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/items", headers=stranger).status_code == 404
    assert client.get("/api/v1/projects", headers=stranger).json()["count"] == 0
    # viewers read, cannot write
    assert client.get(f"/api/v1/projects/{pid}", headers=viewer).json()["role"] == "viewer"
    assert (
        client.post(
            f"/api/v1/projects/{pid}/datasets", headers=viewer, json={"name": "x"}
        ).status_code
        == 403
    )
    # annotators label; datasets, settings and members are the owners'
    assert (
        client.post(
            f"/api/v1/projects/{pid}/datasets", headers=annotator, json={"name": "x"}
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/projects/{pid}", headers=annotator, json={"strategy": "margin"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/projects/{pid}/members", headers=annotator, json={"email": "s@example.com"}
        ).status_code
        == 403
    )
    # owners change settings; the last owner cannot leave
    assert (
        client.patch(f"/api/v1/projects/{pid}", headers=owner, json={"strategy": "margin"}).json()[
            "strategy"
        ]
        == "margin"
    )
    me = client.get("/api/v1/users/me", headers=owner).json()["id"]
    assert client.delete(f"/api/v1/projects/{pid}/members/{me}", headers=owner).status_code == 409


def test_project_validation(client, owner):
    assert _project(client, owner, labels=[]).status_code == 422
    assert _project(client, owner, labels=["a", "a"]).status_code == 422
    assert _project(client, owner, task="video").status_code == 422
    unknown = _project(client, owner, backbone="vgg99")
    assert unknown.status_code == 422 and "Unknown backbone" in unknown.json()["detail"]
    wrong = _project(client, owner, backbone="minilm_l6")
    assert wrong.status_code == 422 and "texts" in wrong.json()["detail"]


def test_missing_weights_are_refused_with_the_expected_path(client, owner):
    made = _project(client, owner, backbone="resnet50")
    assert made.status_code == 422
    assert "resnet50" in made.json()["detail"]


def test_datasets(client, owner):
    pid = _project(client, owner).json()["id"]
    listed = client.get(f"/api/v1/projects/{pid}/datasets", headers=owner).json()
    assert [d["name"] for d in listed["data"]] == ["default"]
    made = client.post(f"/api/v1/projects/{pid}/datasets", headers=owner, json={"name": "batch 1"})
    ds = made.json()["id"]
    assert (
        client.post(
            f"/api/v1/projects/{pid}/datasets", headers=owner, json={"name": "batch 1"}
        ).status_code
        == 409
    )
    renamed = client.patch(
        f"/api/v1/projects/{pid}/datasets/{ds}", headers=owner, json={"name": "scans"}
    )
    assert renamed.json()["name"] == "scans"
    assert client.delete(f"/api/v1/projects/{pid}/datasets/{ds}", headers=owner).status_code == 400
    assert (
        client.delete(
            f"/api/v1/projects/{pid}/datasets/{ds}?confirm=true", headers=owner
        ).status_code
        == 204
    )


def test_backbones_list_says_which_are_available(client, owner):
    listed = {b["name"]: b for b in client.get("/api/v1/backbones", headers=owner).json()["data"]}
    assert listed["minilm_l6"]["available"] and listed["minilm_l6"]["default"]
    assert listed["efficientnet_lite0"]["available"]
    assert not listed["resnet50"]["available"] and "resnet50" in listed["resnet50"]["detail"]


def test_backbones_list_shows_measured_speed_and_accuracy(client, owner, tmp_path, monkeypatch):
    from filament.ml.backbones import BACKBONES

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # where mpnet_base would be assembled
    listed = {b["name"]: b for b in client.get("/api/v1/backbones", headers=owner).json()["data"]}
    assert set(listed) == set(BACKBONES)
    lite0, lite2 = (
        listed["efficientnet_lite0"]["benchmark"],
        listed["efficientnet_lite2"]["benchmark"],
    )
    assert lite0["embed_per_second"] > lite2["embed_per_second"] > 0
    assert {(p["dataset"], p["labels"]) for p in lite2["probe"]} == {
        ("cifar10", 200),
        ("cifar10", None),
    }
    assert all(0 < p["accuracy"] < 1 for p in lite2["probe"]) and lite2["seeds"] == 3
    assert "CPU" in lite2["machine"]
    mpnet = listed["mpnet_base"]["benchmark"]
    assert {p["dataset"] for p in mpnet["probe"]} == {"uci", "agnews"}
    assert listed["resnet50"]["benchmark"] is None  # not measured: no made-up figures
    # listing never assembles the mpnet parts inside the request
    assert not (tmp_path / "filament").exists()
    assert listed["mpnet_base"]["dim"] == 768 and listed["efficientnet_lite2"]["dim"] == 1280


def test_strategies_list_names_the_default_new_projects_get(client, owner):
    from filament.ml.strategies import DEFAULT_STRATEGY, STRATEGIES

    listed = client.get("/api/v1/strategies", headers=owner).json()["data"]
    assert {s["name"] for s in listed} == set(STRATEGIES)
    assert [s["name"] for s in listed if s["default"]] == [DEFAULT_STRATEGY] == [listed[0]["name"]]
    assert all(s["description"] for s in listed)
    made = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "P", "task": "text_classification", "labels": ["a", "b"]},
    ).json()
    assert made["strategy"] == DEFAULT_STRATEGY
    assert client.get("/api/v1/strategies").status_code == 401
