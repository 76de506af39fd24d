"""The train stage: model training on Ray Train (pretrain / mixtrain / finetune are entries of it):
mixed-dataset sampling, online augmentation, DDP, checkpoints and resume.

``params.py`` its config, ``stage.py`` the stage; ``loop`` the per-worker training function, ``data`` /
``sampler`` the data pipeline, ``schedule`` the learning rate, ``validate`` validation during training.
"""
