"""Drives berthd with the Python docker SDK (docker-py) the way user scripts
do, and prints one line per check; any failed check raises (exit 1).
Usage: python3 dockerpy_check.py unix:///path/to/berth.sock"""
import gzip
import io
import sys
import tarfile
import time

import docker

client = docker.DockerClient(base_url=sys.argv[1], version="1.47")


def check(name, cond, detail=""):
    if not cond:
        raise SystemExit(f"FAIL {name}: {detail}")
    print(f"ok {name}")


info = client.info()
check("info Swarm.LocalNodeState", info["Swarm"]["LocalNodeState"] == "inactive", info["Swarm"])
check("info Plugins lists", all(isinstance(v, list) for v in info["Plugins"].values()), info["Plugins"])

img = client.images.get("busybox")
for key in ("Parent", "Author", "DockerVersion", "Comment"):
    check(f"image inspect has {key}", key in img.attrs, sorted(img.attrs))
for key in ("Env", "Entrypoint", "Volumes", "WorkingDir", "Labels"):
    check(f"image Config has {key}", key in img.attrs["Config"], sorted(img.attrs["Config"]))

out = client.containers.run("busybox", ["echo", "hello from docker-py"], remove=True)
check("containers.run output", out == b"hello from docker-py\n", out)

since = int(time.time()) - 1
c = client.containers.run("busybox", ["sleep", "300"], detach=True)
try:
    # The issue-19 loop: a short exec with a TTY must never come back empty.
    for i in range(100):
        code, out = c.exec_run(["echo", f"line{i}"], tty=True)
        if code != 0 or f"line{i}".encode() not in out:
            raise SystemExit(f"FAIL exec_run tty #{i}: code={code} out={out!r}")
    print("ok exec_run tty x100")
    code, out = c.exec_run(["echo", "plain"])
    check("exec_run no tty", code == 0 and out == b"plain\n", out)

    # put_archive with a gzip-compressed tar (testcontainers' CopyToContainer).
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tw:
        data = b"copied in\n"
        ti = tarfile.TarInfo("dp.txt")
        ti.size = len(data)
        tw.addfile(ti, io.BytesIO(data))
    check("put_archive gzip", c.put_archive("/tmp", gzip.compress(raw.getvalue())))
    code, out = c.exec_run(["cat", "/tmp/dp.txt"])
    check("gzip archive content", out == b"copied in\n", out)

    check("ps filter volume matches nothing",
          client.containers.list(all=True, filters={"volume": "no-such-volume"}) == [])
    try:
        client.containers.list(all=True, filters={"no-such-key": "x"})
        raise SystemExit("FAIL unknown filter key was accepted")
    except docker.errors.APIError as e:
        check("unknown filter key is a 400", e.status_code == 400, e)
finally:
    c.remove(force=True)

events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                       filters={"type": "container", "container": c.id})
seen = [e for e in events]
check("container events have status/id/from",
      seen and all("status" in e and "id" in e and "from" in e for e in seen), seen[:2])
check("events include exec_create", any(e["status"].startswith("exec_create") for e in seen),
      [e["status"] for e in seen])
print("docker-py: all checks passed")
