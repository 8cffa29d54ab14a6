/*
 * PostGraphile answers an update that matched no row with a null payload,
 * while a delete raises. Row-level security makes "not yours" look exactly
 * like "no such row"; both mutations now answer NOT_FOUND, for videos and
 * persons alike, so a client cannot mistake a refused rename for a
 * successful one.
 */
import { object, SafeError, sideEffect, type ObjectStep, type Step } from 'grafast';
import { wrapPlans } from 'graphile-utils';

function notFoundWhenNoRow(collection: string) {
  return (plan: () => Step) => {
    const $payload = plan() as ObjectStep<{ result: Step }>;
    const $update = $payload.get('result');
    sideEffect($update, (row) => {
      if (row == null)
        throw new SafeError(
          `No values were updated in collection '${collection}' because no values you can update were found matching these criteria.`,
          { code: 'NOT_FOUND' },
        );
      return null;
    });
    // Created after the side effect, so it depends on it and carries its error.
    return object({ result: $update });
  };
}

export const UpdateNotFoundPlugin = wrapPlans({
  Mutation: {
    updateVideoById: notFoundWhenNoRow('videos'),
    updatePersonById: notFoundWhenNoRow('persons'),
  },
});
