"""Where the peer's binaries are: the folder ../shared/tools/build-llama-cpp.sh prints (building
llama.cpp if needed), or that script's default prefix when it prints nothing."""
import os, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "../shared/tools")


def peer_binary(name):
    out = subprocess.run([os.path.join(SHARED, "build-llama-cpp.sh")], capture_output=True, text=True)
    folder = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else \
        os.path.expanduser("~/.cache/llama-cpp-peer/llama.cpp/build/bin")
    return os.path.join(folder, name)
