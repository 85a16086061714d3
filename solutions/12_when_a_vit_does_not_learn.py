"""Solutions to the exercises of notebook 12 (for instructors)."""


def solution_positions_symptom():
    return "b"  # a set of patches: it learns from their contents, a few points below the baseline


def solution_batch_first_symptom():
    return "a"  # [CLS] only ever attends to the other images' [CLS], all the same vector: nothing to learn from


def solution_softmax_symptom():
    return "c"  # rows no longer sum to 1, yet it learns as well: only a test of the weights finds it


def solution_cls_symptom():
    return "c"  # from scratch any token can carry the summary; a checkpoint read at the wrong index cannot


def solution_lr_symptom():
    return "b"  # learns, several points below the same rate reached through a warm-up


def solution_eval_symptom():
    return "d"  # dropout on at evaluation: each evaluation draws new masks


def solution_labels_symptom():
    return "a"  # nothing connects an image to its label any more


def solution_scale_symptom():
    return "c"  # consistently scaled: the first LayerNorm absorbs it (a train/evaluation mismatch does not)


def solution_eval_curve():
    return "B"  # learns, trains with the highest loss (dropout 0.5), scored below the baseline at every epoch


def solution_report():
    return "c"  # choose on validation, read the test part once, for the chosen model


def solution_accuracy():
    import torch

    def accuracy(model, images, labels):
        was_training = model.training
        model.eval()  # dropout off: the same model always gets the same accuracy
        with torch.no_grad():
            predicted = model(images).argmax(-1)
        model.train(was_training)
        return (predicted == labels).float().mean().item()

    return accuracy
