import { expect, test } from 'vitest';
import { parseJoinPairs } from '../../src/commands/plan-move.js';
import { InputError } from '../../src/errors.js';

test('--on: plain names as written, quoted names with , = spaces and quotes (as in the column arguments)', () => {
  expect(parseJoinPairs('id=user_id')).toEqual([{ from: 'id', to: 'user_id' }]);
  expect(parseJoinPairs(' tenant_id = tenant_id , id=user_id ')).toEqual([
    { from: 'tenant_id', to: 'tenant_id' },
    { from: 'id', to: 'user_id' },
  ]);
  expect(parseJoinPairs('id=User Id')).toEqual([{ from: 'id', to: 'User Id' }]);
  expect(parseJoinPairs('id="User ""Id"" %"')).toEqual([{ from: 'id', to: 'User "Id" %' }]);
  expect(parseJoinPairs('"a,b"="x=y", " padded "=id')).toEqual([
    { from: 'a,b', to: 'x=y' },
    { from: ' padded ', to: 'id' },
  ]);
  for (const wrong of ['', ',', 'id', 'id=', '=id', 'a=b=c', 'id="open', 'id=a"b', 'id=""', 'id="a"b"'])
    expect(() => parseJoinPairs(wrong), wrong).toThrow(InputError);
});
