"""Reading model containers: headers, safe pickles, diffusers folders, embedded metadata, sidecars."""
