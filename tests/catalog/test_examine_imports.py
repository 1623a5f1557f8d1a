"""Reading and identifying a safetensors file loads no numpy and no pickle machinery.

A scan worker and ``inspect FILE`` pay for every module they import; numpy alone costs more than reading a
LoRA's header. It is needed only when a tensor's values are read (the SD2 v-prediction probe), so reading
headers and identifying them must leave it unloaded. A fresh interpreter is the point here: only a new
process shows what an import really pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.factory.safetensors_writer import write_safetensors

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "picklescan", "torch", "sqlalchemy")

PROGRAM = """
import json, sys
from pathlib import Path
from catalog.examine import read_and_identify
readings = [read_and_identify(Path(p)) for p in sys.argv[1:]]
print(json.dumps({
    "loaded": [name for name in %r if name in sys.modules],
    "readings": [[r.status.value, r.identification.kind.value, r.identification.architecture.value]
                 for r in readings],
}))
"""


def test_reading_and_identifying_safetensors_files_imports_no_numpy(tmp_path: Path) -> None:
    attn2 = "transformer_blocks_0_attn2_to_k"
    files = [
        write_safetensors(
            tmp_path / "xl-lora.safetensors",
            {
                f"lora_unet_input_blocks_4_1_{attn2}.lora_down.weight": ("F16", (4, 2048)),
                f"lora_unet_input_blocks_4_1_{attn2}.lora_up.weight": ("F16", (640, 4)),
                f"lora_unet_input_blocks_4_1_{attn2}.alpha": ("F16", ()),
            },
            metadata={"ss_base_model_version": "sdxl_base_v1-0"},
        ),
        write_safetensors(
            tmp_path / "peft.safetensors",
            {
                "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": (
                    "F16",
                    (8, 768),
                ),
                "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight": (
                    "F16",
                    (320, 8),
                ),
            },
        ),
        write_safetensors(
            tmp_path / "sd1.safetensors",
            {
                "model.diffusion_model.input_blocks.0.0.weight": ("F16", (320, 4, 3, 3)),
                "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (
                    "F16",
                    (320, 768),
                ),
            },
        ),
    ]
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM % (HEAVY,), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["readings"] == [["ok", "lora", "sdxl"], ["ok", "lora", "sd1"], ["ok", "checkpoint", "sd1"]]
    assert result["loaded"] == []
