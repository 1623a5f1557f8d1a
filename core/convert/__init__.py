"""Converting torch pickles (.ckpt .pt .pth .bin) to safetensors, without torch and without running them.

``torch_tensors`` reads the tensors' bytes through the same scan and restricted unpickler that cataloging
uses; ``selection`` decides which tensors and metadata the new file carries (pruning, embeddings, fp16);
``safetensors_out`` writes and verifies the file; ``convert`` ties them into one job.
"""
