"""The PyTorch frontend: any ``nn.Module`` traced at the aten level (on the meta device by
default), with one registry of shape-only cost formulas; builders of the networks the zoo
defines itself and of Hugging Face models."""
