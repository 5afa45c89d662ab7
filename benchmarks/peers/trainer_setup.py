"""What both Trainer peers share: the main job's optimizer settings as `TrainingArguments`, and the first-step line.

    args = trainer_arguments("/tmp/out", batch_size=32, learning_rate=1e-4, steps=250, seed=0)
"""

import transformers


def trainer_arguments(output_dir, batch_size, learning_rate, steps, seed, epochs=1):
    """Trainer on the CPU with its defaults (fused AdamW, linear decay) and the recipes' settings: 10% warmup,
    weight decay 0.01 (Trainer spares biases and LayerNorm weights, as ours), epsilon 1e-6, clipping 1.0; no
    logging, checkpoints or evaluation during training."""
    return transformers.TrainingArguments(
        output_dir=output_dir, use_cpu=True, seed=seed,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size, num_train_epochs=epochs,
        learning_rate=learning_rate, warmup_steps=int(0.1 * steps), lr_scheduler_type="linear",
        weight_decay=0.01, adam_epsilon=1e-6, max_grad_norm=1.0,
        eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
    )


class FirstStep(transformers.TrainerCallback):
    """Prints `step 1/N` when the first optimizer step ends (`benchmarks/main_job.py` times the first step by it)."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            print(f"step 1/{state.max_steps}", flush=True)
