package aws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/manifest"
)

// Lease is the controllers' lease in the fleet's DynamoDB table (<fleet>-lease, which apply
// creates): one item per fleet holding the holder, the fencing token and when the holding
// lapses (Unix milliseconds). Every change is a conditional write, so two controllers
// cannot both take it; a read for Fence is strongly consistent.
type Lease struct {
	db    *dynamodb.Client
	table string
	fleet string
	clk   clock.Clock
}

var _ spotfleet.Lease = (*Lease)(nil)

// NewLease is the lease of a fleet, on its table.
func NewLease(cfg awssdk.Config, m *manifest.Manifest, clk clock.Clock) *Lease {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Lease{db: dynamodb.NewFromConfig(cfg), table: Names{Fleet: m.Name}.LeaseTable(), fleet: m.Name, clk: clk}
}

func (l *Lease) key() map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"fleet": &ddbtypes.AttributeValueMemberS{Value: l.fleet}}
}

func num(n int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Hold implements spotfleet.Lease: it renews the holder's own unlapsed holding, or takes a
// free or lapsed one with the next token.
func (l *Lease) Hold(ctx context.Context, holder string, ttl time.Duration) (int64, error) {
	now := l.clk.Now()
	me := &ddbtypes.AttributeValueMemberS{Value: holder}
	out, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &l.table, Key: l.key(),
		UpdateExpression:          awssdk.String("SET expires = :exp"),
		ConditionExpression:       awssdk.String("holder = :me AND expires > :now"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": me, ":exp": num(now.Add(ttl).UnixMilli()), ":now": num(now.UnixMilli())},
		ReturnValues:              ddbtypes.ReturnValueAllNew})
	if err == nil {
		return tokenOf(out.Attributes)
	}
	if !conditionFailed(err) {
		return 0, l.explain(err)
	}
	out, err = l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &l.table, Key: l.key(),
		UpdateExpression:          awssdk.String("SET holder = :me, expires = :exp ADD #token :one"),
		ConditionExpression:       awssdk.String("attribute_not_exists(holder) OR expires <= :now"),
		ExpressionAttributeNames:  map[string]string{"#token": "token"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": me, ":exp": num(now.Add(ttl).UnixMilli()), ":now": num(now.UnixMilli()), ":one": num(1)},
		ReturnValues:              ddbtypes.ReturnValueAllNew})
	switch {
	case err == nil:
		return tokenOf(out.Attributes)
	case conditionFailed(err):
		return 0, spotfleet.ErrLeaseHeld
	}
	return 0, l.explain(err)
}

// Fence implements spotfleet.Lease with a strongly consistent read.
func (l *Lease) Fence(ctx context.Context, holder string, token int64) error {
	out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &l.table, Key: l.key(), ConsistentRead: awssdk.Bool(true)})
	if err != nil {
		return l.explain(err)
	}
	h, _ := out.Item["holder"].(*ddbtypes.AttributeValueMemberS)
	t, _ := tokenOf(out.Item)
	exp, _ := out.Item["expires"].(*ddbtypes.AttributeValueMemberN)
	if h == nil || h.Value != holder || t != token || exp == nil {
		return spotfleet.ErrLeaseLost
	}
	if ms, err := strconv.ParseInt(exp.Value, 10, 64); err != nil || l.clk.Now().UnixMilli() >= ms {
		return spotfleet.ErrLeaseLost
	}
	return nil
}

func tokenOf(item map[string]ddbtypes.AttributeValue) (int64, error) {
	t, ok := item["token"].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return 0, errors.New("the lease item has no token")
	}
	return strconv.ParseInt(t.Value, 10, 64)
}

func conditionFailed(err error) bool {
	var c *ddbtypes.ConditionalCheckFailedException
	return errors.As(err, &c)
}

// explain says what to do about a table that is not there: a controller never acts
// unfenced.
func (l *Lease) explain(err error) error {
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("the controllers' lease table %s does not exist: run spotfleet apply, which creates it (%w)", l.table, err)
	}
	return err
}

// Check says whether the lease table can be used, before the controller starts.
func (l *Lease) Check(ctx context.Context) error {
	_, err := l.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &l.table})
	if err != nil {
		return l.explain(err)
	}
	return nil
}
