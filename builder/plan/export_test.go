package plan

// What the tests of package plan_test reach inside.

// Check runs the invariant check of a plan.
func (p *Plan) Check() error { return p.check() }

// DescribeAnswer is describeAnswer.
var DescribeAnswer = describeAnswer
