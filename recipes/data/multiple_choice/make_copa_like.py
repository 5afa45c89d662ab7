"""Writes train.jsonl and dev.jsonl: a small synthetic COPA-style data set for recipes/multiple_choice.py.

No multiple-choice data set can ship with this repository, so this one is made up, from the
cause -> effect pairs below (written for this purpose). An example states a premise and asks for its
cause or its effect, COPA's two questions; of the two choices one is the premise's partner in its pair,
the other the same kind of sentence (a cause or an effect) from another pair, about the same person:

    {"context": "Maria ate food that had gone bad.", "question": "What happened as a result?",
     "choices": ["She got sick.", "She was late for work."], "label": 0}

Each side of a pair is worded two ways. Dev asks what train never does: its people have names train
never uses, and it pairs the second wording of the premise with the second wording of the answer
(train holds the other three combinations), so a model must have learnt which events go together,
not which strings. Everything is drawn from `random.Random(0)`, so the files come out the same every
time:

    python recipes/data/multiple_choice/make_copa_like.py
"""

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
QUESTIONS = {"effect": "What happened as a result?", "cause": "What was the cause of this?"}
# Train and dev people: (name, he/she). Dev names never occur in train.
TRAIN_PEOPLE = [("Maria", "she"), ("John", "he"), ("Aisha", "she"), ("Tom", "he"), ("Elena", "she"),
                ("Kenji", "he"), ("Sofia", "she"), ("David", "he"), ("Priya", "she"), ("Lucas", "he"),
                ("Hannah", "she"), ("Omar", "he"), ("Grace", "she"), ("Mateo", "he"), ("Chloe", "she"),
                ("Ivan", "he")]
DEV_PEOPLE = [("Fatima", "she"), ("Samuel", "he"), ("Olivia", "she"), ("Noah", "he"), ("Mei", "she"),
              ("Daniel", "he")]
# (two wordings of a cause, two wordings of its effect). {name}, {he} ("he"/"she"), {his}, {him}.
PAIRS = [
    (["{name} ate food that had gone bad.", "{name} ate a sandwich that was a week old."],
     ["{He} got sick.", "{He} spent the night with a stomach ache."]),
    (["{name} forgot {his} umbrella on a rainy day.", "{name} walked home in a downpour without a coat."],
     ["{His} clothes were soaked.", "{He} came home dripping wet."]),
    (["{name} worked a double night shift.", "{name} drove through the night without a break."],
     ["{He} yawned all through the morning.", "{He} was exhausted the next day."]),
    (["{name} studied hard for the exam.", "{name} revised every evening before the test."],
     ["{He} passed the exam.", "{He} got the top grade in the class."]),
    (["{name} dropped a glass on the stone floor.", "{name} knocked a vase off the shelf."],
     ["It shattered into pieces.", "There were shards all over the floor."]),
    (["{name} left the ice cream out in the sun.", "{name} forgot the ice cream on the hot car seat."],
     ["The ice cream melted.", "The ice cream turned into a sticky puddle."]),
    (["{name} ran a marathon.", "{name} ran forty kilometres on Sunday."],
     ["{He} collapsed at the finish line.", "{He} received a finisher's medal."]),
    (["{name} won the lottery.", "{name} inherited a fortune from an aunt."],
     ["{He} bought a big house.", "{He} quit {his} job and travelled the world."]),
    (["{name} switched off every light.", "{name} blew out the only candle."],
     ["The room went dark.", "{He} could not see {his} own hands."]),
    (["{name} touched the hot stove.", "{name} grabbed the pan by its hot handle."],
     ["{He} burned {his} fingers.", "{He} had a blister on {his} hand."]),
    (["{name} skipped breakfast and lunch.", "{name} had not eaten since the day before."],
     ["{His} stomach growled loudly.", "{He} felt weak with hunger."]),
    (["{name} missed the bus.", "{name} overslept by an hour."],
     ["{He} was late for work.", "{He} arrived after the meeting had started."]),
    (["{name} watered the seedlings every day.", "{name} gave the garden plenty of water and sun."],
     ["The plants grew tall.", "The garden was full of flowers."]),
    (["{name} told a very funny joke.", "{name} did a silly dance at the party."],
     ["Everyone laughed.", "The guests were in fits of laughter."]),
    (["{name} lost {his} house keys.", "{name} left {his} keys inside and shut the door."],
     ["{He} was locked out.", "{He} had to call a locksmith."]),
    (["{name} drank three cups of strong coffee at night.", "{name} had an espresso right before bed."],
     ["{He} could not fall asleep.", "{He} lay awake until dawn."]),
    (["{name} slipped on the ice and broke {his} leg.", "{name} fell off a ladder and broke {his} ankle."],
     ["{He} walked on crutches for weeks.", "{He} wore a cast for two months."]),
    (["{name} practised the piano every day.", "{name} took piano lessons for years."],
     ["{He} played beautifully at the concert.", "The audience applauded {his} performance."]),
    (["{name} forgot to charge {his} phone.", "{name} used {his} phone all day without charging it."],
     ["The phone's battery died.", "{His} phone switched itself off."]),
    (["{name} shouted at {his} best friend.", "{name} insulted {his} friend in front of everyone."],
     ["{His} friend was hurt.", "{His} friend stopped talking to {him}."]),
    (["{name} opened every window in the middle of winter.", "{name} turned off the heating in January."],
     ["The house got freezing cold.", "{He} could see {his} breath indoors."]),
    (["{name} poured far too much salt into the soup.", "{name} spilled the salt jar into the stew."],
     ["Nobody could eat the soup.", "The stew tasted terrible."]),
    (["{name} adopted a puppy.", "{name} brought home a dog from the shelter."],
     ["{He} went for walks every morning.", "{He} bought a lead and a basket."]),
    (["{name} chopped a pile of onions.", "{name} sliced raw onions for the salad."],
     ["{His} eyes watered.", "Tears ran down {his} cheeks."]),
    (["{name} got a promotion at work.", "{name} was made head of {his} department."],
     ["{His} salary went up.", "{He} moved into a bigger office."]),
    (["{name} forgot {his} mother's birthday.", "{name} did not call {his} mother on her birthday."],
     ["{His} mother was disappointed.", "{His} mother felt forgotten."]),
    (["{name} painted the fence.", "{name} gave the old gate a fresh coat of paint."],
     ["The fence looked like new.", "The smell of paint hung in the garden."]),
    (["{name} spent all day at the beach without sunscreen.", "{name} fell asleep in the sun at noon."],
     ["{He} got a bad sunburn.", "{His} skin turned bright red."]),
    (["{name} lifted weights at the gym for months.", "{name} trained with heavy weights three times a week."],
     ["{His} arms grew stronger.", "{He} could carry twice as much as before."]),
    (["{name} forgot the bread in the oven.", "{name} left the cake baking for two hours."],
     ["The kitchen filled with smoke.", "The smoke alarm went off."]),
    (["{name} ignored the flat tyre.", "{name} kept driving with a puncture."],
     ["The car broke down on the motorway.", "{He} had to wait for a tow truck."]),
]


def _fill(template, name, he):
    his, him = {"he": ("his", "him"), "she": ("her", "her")}[he]
    text = template.format(name=name, He=he.capitalize(), His=his.capitalize(), he=he, his=his, him=him)
    return text[0].upper() + text[1:]


def examples(rng, count, people, wordings):
    """`count` examples about `people`, using (premise wording, answer wording) pairs from `wordings`."""
    out = []
    for _ in range(count):
        pair, other = rng.sample(range(len(PAIRS)), 2)
        asks = rng.choice(["effect", "cause"])
        premise_side, answer_side = (0, 1) if asks == "effect" else (1, 0)  # PAIRS hold (causes, effects)
        premise_wording, answer_wording = rng.choice(wordings)
        name, he = rng.choice(people)
        right = _fill(PAIRS[pair][answer_side][answer_wording], name, he)
        wrong = _fill(PAIRS[other][answer_side][rng.randrange(2)], name, he)
        label = rng.randrange(2)
        out.append({
            "context": _fill(PAIRS[pair][premise_side][premise_wording], name, he),
            "question": QUESTIONS[asks],
            "choices": [right, wrong] if label == 0 else [wrong, right],
            "label": label,
        })
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default=HERE, type=Path)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--dev-size", type=int, default=300)
    args = parser.parse_args()

    rng = random.Random(0)
    splits = {
        "train": examples(rng, args.train_size, TRAIN_PEOPLE, [(0, 0), (0, 1), (1, 0)]),
        "dev": examples(rng, args.dev_size, DEV_PEOPLE, [(1, 1)]),
    }
    for split, rows in splits.items():
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (args.out_dir / f"{split}.jsonl").write_text(text, encoding="utf-8")
        print(f"{split}.jsonl: {len(rows)} examples")


if __name__ == "__main__":
    main()
