package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/spotfleet/spotfleet"
)

// ReceiveMessages long-polls the fleet's event queue.
func (p *Provider) ReceiveMessages(ctx context.Context, max int, wait, visibility time.Duration) ([]spotfleet.Message, error) {
	url, err := p.QueueURL(ctx)
	if err != nil {
		return nil, err
	}
	out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: int32(min(max, 10)),
		WaitTimeSeconds: int32(wait.Seconds()), VisibilityTimeout: int32(visibility.Seconds())})
	if err != nil {
		return nil, err
	}
	msgs := make([]spotfleet.Message, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = spotfleet.Message{ID: awssdk.ToString(m.MessageId), ReceiptHandle: awssdk.ToString(m.ReceiptHandle), Body: []byte(awssdk.ToString(m.Body))}
	}
	return msgs, nil
}

// DeleteMessage deletes a handled message.
func (p *Provider) DeleteMessage(ctx context.Context, receiptHandle string) error {
	url, err := p.QueueURL(ctx)
	if err != nil {
		return err
	}
	_, err = p.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &receiptHandle})
	return err
}

// ChangeMessageVisibility keeps a message hidden while its notice is handled.
func (p *Provider) ChangeMessageVisibility(ctx context.Context, receiptHandle string, d time.Duration) error {
	url, err := p.QueueURL(ctx)
	if err != nil {
		return err
	}
	_, err = p.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &receiptHandle,
		VisibilityTimeout: int32(d.Seconds())})
	return err
}

// SendMessage puts a message on the queue (as EventBridge does; used by tests and to
// replay an event).
func (p *Provider) SendMessage(ctx context.Context, body []byte) error {
	url, err := p.QueueURL(ctx)
	if err != nil {
		return err
	}
	_, err = p.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: awssdk.String(string(body))})
	return err
}

// QueueURL finds the fleet's event queue.
func (p *Provider) QueueURL(ctx context.Context) (string, error) {
	p.mu.Lock()
	url := p.queueURL
	p.mu.Unlock()
	if url != "" {
		return url, nil
	}
	out, err := p.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: awssdk.String(p.n.Queue())})
	if err != nil {
		return "", fmt.Errorf("the event queue %s: %w (run spotfleet apply)", p.n.Queue(), err)
	}
	p.mu.Lock()
	p.queueURL = awssdk.ToString(out.QueueUrl)
	p.mu.Unlock()
	return awssdk.ToString(out.QueueUrl), nil
}
