"""The compose board: drag a checkpoint, a VAE, LoRAs, embeddings and a hypernetwork together, render it.

Qt only; the rendering itself is done by ``app.render_service.RenderService`` on a worker thread, reached
through the small protocols in :mod:`desktop.compose.service` so this package never imports torch.
"""
