"""The till: commit a sale with its points exactly once, and refund it."""
